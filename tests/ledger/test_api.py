from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from shulian.core import events
from shulian.core.events import Event
from shulian.ledger import service
from shulian.ledger.leaf import Pseudonymizer
from shulian.ledger.models import LedgerLeaf
from shulian.ledger.note import Verifier, open_checkpoint
from tests.conftest import NOW
from tests.factories.accounts import bearer, make_staff
from tests.factories.consortium import make_network
from tests.ledger import rfc9162


def _append(session: Session, app: FastAPI) -> None:
    for i in range(9):
        events.record(session, type="test.api", now=NOW, subject=f"item:{i}")
    session.flush()
    pseudonyms = Pseudonymizer(app.state.secret)
    done = service.tree_size(session)
    pending = session.scalars(select(Event).order_by(Event.seq)).all()
    already = set(session.scalars(select(LedgerLeaf.event_seq)))
    service.append_events(session, [e for e in pending if e.seq not in already], pseudonyms)
    assert service.tree_size(session) > done


def test_anyone_verifies_a_receipt_against_the_published_key(
    session: Session, client: TestClient, app: FastAPI
) -> None:
    make_network(session)
    make_staff(session, roles=["admin"], username="auditor")
    _append(session, app)
    signed = client.post("/api/v1/ledger/checkpoints", headers=bearer(client, "staff", "auditor"))
    assert signed.status_code == 201
    vkey = Verifier.parse(client.get("/api/v1/ledger/key").text)
    note = client.get("/api/v1/ledger/checkpoint").text
    cp = open_checkpoint(note, vkey)
    assert cp.size == signed.json()["tree_size"]
    seq = client.get("/api/v1/ledger/leaves/3").json()["event_seq"]
    receipt = client.get(f"/api/v1/ledger/events/{seq}/receipt").json()
    assert receipt["checkpoint"] == note
    assert rfc9162.verify_inclusion(
        rfc9162.hash_leaf(receipt["leaf"]["data"].encode()),
        3,
        cp.size,
        [bytes.fromhex(x) for x in receipt["proof"]["proof"]],
        cp.root,
    )


def test_bad_requests_change_nothing_and_say_why(
    session: Session, client: TestClient, app: FastAPI
) -> None:
    _append(session, app)
    size = service.tree_size(session)
    r = client.get("/api/v1/ledger/proof/inclusion", params={"index": size + 5, "size": 1})
    assert r.status_code == 404 and r.json()["error"] == "LeafNotFound"
    r = client.get("/api/v1/ledger/proof/consistency", params={"first": 5, "second": 2})
    assert r.status_code == 400 and "from size 5 to size 2" in r.json()["detail"]
    r = client.get("/api/v1/ledger/leaves/999999")
    assert r.status_code == 404
    assert service.tree_size(session) == size
