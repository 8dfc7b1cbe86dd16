"""Circulation over HTTP: the desk, the reader's own account, rules and explain, who may do what."""

from __future__ import annotations

import json

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from shulian.core.events import Event
from shulian.ledger import service as ledger_service
from shulian.ledger.leaf import Pseudonymizer
from shulian.ledger.note import Verifier, open_checkpoint
from tests.conftest import NOW
from tests.factories.accounts import bearer, make_staff
from tests.factories.circulation import make_library
from tests.ledger import rfc9162

API = "/api/v1/circulation"


class TestDesk:
    def test_checkout_by_card_then_refusal_then_checkin(
        self, session: Session, client: TestClient
    ) -> None:
        lib = make_library(session)
        make_staff(session, roles=["circulation"], username="desk", branch="CEN")
        h = bearer(client, "staff", "desk")
        barcode = lib.items[0].barcode
        out = client.post(
            f"{API}/checkouts", json={"card": lib.reader.card_number, "barcode": barcode}, headers=h
        )
        assert out.status_code == 201, out.text
        assert out.json()["branch"] == "CEN" and out.json()["terms"]["loan_days"] == 30
        again = client.post(
            f"{API}/checkouts",
            json={"card": lib.readers[1].card_number, "barcode": barcode},
            headers={**h, "Accept-Language": "zh-CN"},
        )
        assert again.status_code == 409
        assert again.json()["error"] == "AlreadyOnLoan"
        assert again.json()["message"] == f"图书 {barcode} 已被借出，请先办理归还"
        item = client.get(f"{API}/items/{barcode}", headers=h).json()
        assert item["status"] == "on_loan" and item["due_at"]
        back = client.post(f"{API}/checkins", json={"barcode": barcode, "branch": "B01"}, headers=h)
        assert back.status_code == 200
        assert (back.json()["destination"], back.json()["to_branch"]) == ("transit", "CEN")
        incoming = client.get(f"{API}/branches/cen/transits", headers=h).json()
        assert [t["barcode"] for t in incoming] == [barcode]

    def test_staff_without_a_branch_must_name_one(
        self, session: Session, client: TestClient
    ) -> None:
        lib = make_library(session)
        make_staff(session, roles=["circulation"], username="roamer")
        h = bearer(client, "staff", "roamer")
        r = client.post(
            f"{API}/checkouts",
            json={"card": lib.reader.card_number, "barcode": lib.items[0].barcode},
            headers=h,
        )
        assert r.status_code == 400 and r.json()["error"] == "BranchNeeded"

    def test_payments_need_the_fines_permission(self, session: Session, client: TestClient) -> None:
        lib = make_library(session)
        make_staff(session, roles=["circulation"], username="desk", branch="CEN")
        r = client.post(
            f"{API}/readers/{lib.reader.id}/payments",
            json={"amount_cents": 10},
            headers=bearer(client, "staff", "desk"),
        )
        assert r.status_code == 403
        make_staff(session, roles=["branch_manager"], username="boss", branch="CEN")
        r = client.post(
            f"{API}/readers/{lib.reader.id}/payments",
            json={"amount_cents": 10},
            headers=bearer(client, "staff", "boss"),
        )
        assert r.status_code == 409 and r.json()["error"] == "NothingOwed"


class TestReaderAccount:
    def test_reader_renews_holds_and_sees_only_their_own(
        self, session: Session, client: TestClient
    ) -> None:
        lib = make_library(session)
        make_staff(session, roles=["circulation"], username="desk", branch="CEN")
        desk = bearer(client, "staff", "desk")
        client.post(
            f"{API}/checkouts",
            json={"reader_id": lib.reader.id, "barcode": lib.items[0].barcode},
            headers=desk,
        )
        me = bearer(client, "reader", lib.reader.card_number)
        account = client.get(f"{API}/me", headers=me).json()
        assert [ln["barcode"] for ln in account["loans"]] == [lib.items[0].barcode]
        renewed = client.post(f"{API}/me/loans/{lib.items[0].barcode}/renew", headers=me)
        assert renewed.status_code == 200 and renewed.json()["renewals"] == 1
        held = client.post(
            f"{API}/me/holds", json={"record_id": lib.other.id, "pickup_branch": "B01"}, headers=me
        )
        assert held.status_code == 201 and held.json()["position"] == 1
        other = bearer(client, "reader", lib.readers[1].card_number)
        stolen = client.delete(f"{API}/me/holds/{held.json()['id']}", headers=other)
        assert stolen.status_code == 403 and stolen.json()["error"] == "NotYourHold"
        assert client.get(f"{API}/me", headers=desk).status_code == 403  # staff have no /me
        assert client.get(f"{API}/readers/{lib.reader.id}", headers=me).status_code == 403
        prefs = client.put(f"{API}/me/preferences", json={"keep_history": True}, headers=me)
        assert prefs.json()["keep_history"] is True

    def test_anonymous_gets_401(self, client: TestClient) -> None:
        assert client.get(f"{API}/me").status_code == 401
        assert client.post(f"{API}/checkouts", json={}).status_code in (401, 422)


class TestRulesOverHttp:
    def test_rules_manager_edits_and_anyone_on_staff_explains(
        self, session: Session, client: TestClient
    ) -> None:
        lib = make_library(session)
        make_staff(session, roles=["admin"], username="admin")
        make_staff(session, roles=["circulation"], username="desk", branch="CEN")
        admin, desk = bearer(client, "staff", "admin"), bearer(client, "staff", "desk")
        body = {"item_type": "dvd", "loan_days": 7, "renewals": 0}
        assert client.post(f"{API}/rules", json=body, headers=desk).status_code == 403
        created = client.post(f"{API}/rules", json=body, headers=admin)
        assert created.status_code == 201
        bad = client.post(f"{API}/rules", json={"branch_code": "NOPE"}, headers=admin)
        assert bad.status_code == 400 and bad.json()["error"] == "InvalidRule"
        why = client.get(
            f"{API}/explain",
            params={"card": lib.reader.card_number, "branch": "CEN", "item_type": "dvd"},
            headers=desk,
        ).json()
        assert why["rule"]["id"] == created.json()["id"]
        assert why["candidates"][1]["reason"].startswith("less specific")
        opt = client.put(f"{API}/options/history_days", json={"value": "x"}, headers=admin)
        assert opt.status_code == 400 and opt.json()["error"] == "InvalidOption"
        assert (
            client.delete(f"{API}/rules/{created.json()['id']}", headers=admin).status_code == 204
        )

    def test_explaining_by_card_needs_leave_to_look_readers_up(
        self, session: Session, client: TestClient
    ) -> None:
        # A cataloguer may ask which rule applies to a category, but must not learn through it
        # whether a card exists, or the reader's category.
        lib = make_library(session)
        make_staff(session, roles=["cataloguer"], username="cat", branch="CEN")
        h = bearer(client, "staff", "cat")
        for card in (lib.reader.card_number, "NO-SUCH-CARD"):
            r = client.get(f"{API}/explain", params={"card": card, "branch": "CEN"}, headers=h)
            assert r.status_code == 403, r.text
            assert r.json()["detail"] == "Missing permission: accounts.reader.read"
        by_category = client.get(
            f"{API}/explain", params={"reader_category": "adult", "branch": "CEN"}, headers=h
        )
        assert by_category.status_code == 200


class TestLoanReceipt:
    def test_reader_proves_the_loan_and_its_terms_from_the_ledger(
        self, session: Session, client: TestClient, app: FastAPI
    ) -> None:
        lib = make_library(session)
        make_staff(session, roles=["circulation"], username="desk", branch="CEN")
        loan = client.post(
            f"{API}/checkouts",
            json={"reader_id": lib.reader.id, "barcode": lib.items[0].barcode},
            headers=bearer(client, "staff", "desk"),
        ).json()
        me = bearer(client, "reader", lib.reader.card_number)
        early = client.get(f"{API}/me/loans/{loan['id']}/receipt", headers=me)
        assert early.status_code in (404, 409)  # not in the ledger yet: says so
        pending = session.scalars(select(Event).order_by(Event.seq)).all()
        ledger_service.append_events(session, list(pending), Pseudonymizer(app.state.secret))
        ledger_service.issue_checkpoint(session, signer=app.state.ledger_signer, now=NOW)
        receipt = client.get(f"{API}/me/loans/{loan['id']}/receipt", headers=me).json()
        cp = open_checkpoint(
            receipt["checkpoint"], Verifier.parse(client.get("/api/v1/ledger/key").text)
        )
        leaf = receipt["leaf"]
        assert rfc9162.verify_inclusion(
            rfc9162.hash_leaf(leaf["data"].encode()),
            leaf["index"],
            cp.size,
            [bytes.fromhex(x) for x in receipt["proof"]["proof"]],
            cp.root,
        )
        assert json.loads(leaf["data"])  # canonical JSON
        assert '"loan_days":30' in leaf["data"].replace(" ", "")
        assert f"reader:{lib.reader.id}" not in leaf["data"]
        assert "reader:~" in leaf["data"]  # the reader under a pseudonym
        assert lib.reader.card_number not in leaf["data"]
        other = bearer(client, "reader", lib.readers[1].card_number)
        theft = client.get(f"{API}/me/loans/{loan['id']}/receipt", headers=other)
        assert theft.status_code == 404 and theft.json()["error"] == "LoanNotFound"
