"""Cosignatures POSTed to this library on its own checkpoints: kept from trusted witnesses only,
every bad one refused with its reason and nothing stored; a note signed with our key but not
our tree is kept as a split view."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shulian.core import events
from shulian.core.events import Event
from shulian.ledger import service
from shulian.ledger.cosign import Cosigner, add_lines
from shulian.ledger.leaf import Pseudonymizer
from shulian.ledger.models import LedgerCosignature, LedgerLeaf, LedgerWitness
from shulian.ledger.note import Checkpoint, Signer, open_checkpoint
from tests.conftest import NOW
from tests.factories.accounts import bearer, make_staff
from tests.factories.consortium import make_network

WITNESS = "library-a.example.org/witness"
URL = "/api/v1/ledger/cosignatures"
TEXT = {"Content-Type": "text/plain; charset=utf-8"}


@pytest.fixture
def witness() -> Cosigner:
    return Cosigner.generate(WITNESS)


@pytest.fixture
def note(session: Session, app: FastAPI, witness: Cosigner) -> str:
    """Our latest checkpoint, with a trusted witness."""
    for i in range(6):
        events.record(session, type="test.cosign", now=NOW, subject=f"item:{i}")
    session.flush()
    done = set(session.scalars(select(LedgerLeaf.event_seq)))
    new = [e for e in session.scalars(select(Event).order_by(Event.seq)) if e.seq not in done]
    service.append_events(session, new, Pseudonymizer(app.state.secret))
    cp = service.issue_checkpoint(session, signer=app.state.ledger_signer, now=NOW)
    session.add(LedgerWitness(name=WITNESS, vkey=witness.key.vkey, added_at=NOW))
    session.flush()
    return cp.note


def _cosigned(note: str, witness: Cosigner, when: int | None = None) -> str:
    return add_lines(note, [witness.cosign(note, when or int(NOW.timestamp())).line])


def _held(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(LedgerCosignature)) or 0


def _post(client: TestClient, body: str) -> tuple[int, dict[str, str]]:
    r = client.post(URL, content=body.encode(), headers=TEXT)
    return r.status_code, r.json() if r.status_code != 201 else {}


class TestAccepted:
    def test_a_trusted_cosignature_is_kept_listed_and_served(
        self, client: TestClient, session: Session, note: str, witness: Cosigner, app: FastAPI
    ) -> None:
        r = client.post(URL, content=_cosigned(note, witness).encode(), headers=TEXT)
        assert r.status_code == 201, r.text
        (kept,) = r.json()
        assert kept["witness"] == WITNESS and kept["timestamp"] == int(NOW.timestamp())
        (listed,) = client.get(URL).json()
        assert listed == kept and listed["time"].startswith("2026-11-21T09:30")
        served = client.get("/api/v1/ledger/checkpoint").text
        assert served.endswith(kept["line"])
        assert open_checkpoint(served, app.state.ledger_signer.verifier).size == 6
        assert witness.key.verify(served).witness == WITNESS

    def test_a_later_cosignature_replaces_the_earlier_one(
        self, client: TestClient, session: Session, note: str, witness: Cosigner
    ) -> None:
        t = int(NOW.timestamp())
        assert _post(client, _cosigned(note, witness, t - 60))[0] == 201
        assert _post(client, _cosigned(note, witness, t))[0] == 201
        assert _post(client, _cosigned(note, witness, t - 120))[0] == 201  # older: ignored
        (kept,) = client.get(URL).json()
        assert kept["timestamp"] == t and _held(session) == 1

    def test_a_json_string_body_is_accepted_too(
        self, client: TestClient, note: str, witness: Cosigner
    ) -> None:
        assert client.post(URL, json=_cosigned(note, witness)).status_code == 201


class TestRefused:
    def test_forged_cosignature(
        self, client: TestClient, session: Session, note: str, witness: Cosigner
    ) -> None:
        cosigned = _cosigned(note, witness)
        head, line = cosigned.rsplit("\u2014 ", 1)
        name, data = line.split(" ")
        raw = bytearray(base64.b64decode(data))
        raw[-1] ^= 0x80
        forged = f"{head}\u2014 {name} {base64.b64encode(bytes(raw)).decode()}\n"
        status, body = _post(client, forged)
        assert status == 403 and body["error"] == "CosignatureNotTrusted"
        assert "does not verify" in body["detail"]
        assert _held(session) == 0

    def test_altered_cosignature_time(
        self, client: TestClient, session: Session, note: str, witness: Cosigner
    ) -> None:
        cosigned = _cosigned(note, witness)
        head, line = cosigned.rsplit("\u2014 ", 1)
        name, data = line.split(" ")
        raw = base64.b64decode(data)
        moved = raw[:4] + (int.from_bytes(raw[4:12], "big") - 86400).to_bytes(8, "big") + raw[12:]
        status, body = _post(client, f"{head}\u2014 {name} {base64.b64encode(moved).decode()}\n")
        assert status == 403 and "does not verify" in body["detail"] and _held(session) == 0

    def test_cosignature_from_the_future(
        self, client: TestClient, session: Session, note: str, witness: Cosigner
    ) -> None:
        later = int((NOW + timedelta(hours=2)).timestamp())
        status, body = _post(client, _cosigned(note, witness, later))
        assert status == 400 and "dated in the future" in body["detail"] and _held(session) == 0

    def test_witness_not_trusted(self, client: TestClient, session: Session, note: str) -> None:
        stranger = Cosigner.generate("stranger.example/witness")
        status, body = _post(client, _cosigned(note, stranger))
        assert status == 403 and "no witness this library trusts" in body["detail"]
        assert "stranger.example/witness" in body["detail"] and _held(session) == 0

    def test_trusted_name_with_another_key(
        self, client: TestClient, session: Session, note: str
    ) -> None:
        status, body = _post(client, _cosigned(note, Cosigner.generate(WITNESS)))
        assert status == 403 and "not made with its trusted key" in body["detail"]
        assert _held(session) == 0

    def test_no_cosignature_at_all(self, client: TestClient, session: Session, note: str) -> None:
        status, body = _post(client, note)
        assert status == 400 and "carries no cosignature" in body["detail"]

    def test_not_our_checkpoint(
        self, client: TestClient, session: Session, note: str, witness: Cosigner, app: FastAPI
    ) -> None:
        other = Signer.generate(app.state.ledger_signer.name)
        forged = other.sign(Checkpoint(other.name, 6, b"\x09" * 32).text())
        status, body = _post(client, _cosigned(forged, witness))
        assert status == 400 and body["error"] == "CosignatureRejected"
        assert "not a checkpoint of this library" in body["detail"] and _held(session) == 0

    @pytest.mark.parametrize("damage", ["truncated", "reordered", "garbage"])
    def test_damaged_note(
        self, client: TestClient, session: Session, note: str, witness: Cosigner, damage: str
    ) -> None:
        origin, size, root, rest = _cosigned(note, witness).split("\n", 3)
        body = {
            "truncated": "\n".join([origin, size, rest]),
            "reordered": "\n".join([origin, root, size, rest]),
            "garbage": "hello\n",
        }[damage]
        status, answer = _post(client, body)
        assert status == 400 and "not a checkpoint of this library" in answer["detail"]
        assert _held(session) == 0

    def test_our_key_on_another_tree_is_a_split_view(
        self, client: TestClient, session: Session, note: str, witness: Cosigner, app: FastAPI
    ) -> None:
        signer = app.state.ledger_signer
        other_root = signer.sign(Checkpoint(signer.name, 6, b"\x09" * 32).text())
        status, body = _post(client, _cosigned(other_root, witness))
        assert status == 409 and body["error"] == "SplitViewReported"
        assert "root at size 6 is not ours" in body["detail"]
        (view,) = client.get("/api/v1/ledger/split-views").json()
        assert view["note_a"] == note and view["note_b"].startswith(other_root)
        beyond = signer.sign(Checkpoint(signer.name, 60, b"\x09" * 32).text())
        status, body = _post(client, _cosigned(beyond, witness))
        assert status == 409 and "our tree has 6" in body["detail"]
        assert len(client.get("/api/v1/ledger/split-views").json()) == 2
        assert _held(session) == 0


class TestTrustingWitnesses:
    def test_staff_with_ledger_audit_add_a_witness(
        self, client: TestClient, session: Session
    ) -> None:
        make_network(session)
        make_staff(session, roles=["admin"], username="auditor")
        key = Cosigner.generate("c.example/witness").key.vkey
        headers = bearer(client, "staff", "auditor")
        r = client.post("/api/v1/ledger/witnesses", json={"vkey": key}, headers=headers)
        assert r.status_code == 201 and r.json()["name"] == "c.example/witness"
        assert [w["vkey"] for w in client.get("/api/v1/ledger/witnesses").json()] == [key]
        again = client.post("/api/v1/ledger/witnesses", json={"vkey": key}, headers=headers)
        assert again.status_code == 201
        clash = Cosigner.generate("c.example/witness").key.vkey
        r = client.post("/api/v1/ledger/witnesses", json={"vkey": clash}, headers=headers)
        assert r.status_code == 409 and r.json()["error"] == "WitnessKeyConflict"
        log_key = Signer.generate("c.example/ledger").verifier.vkey
        r = client.post("/api/v1/ledger/witnesses", json={"vkey": log_key}, headers=headers)
        assert r.status_code == 400 and "not a witness key" in r.json()["detail"]

    def test_the_witness_key_is_published(self, client: TestClient, app: FastAPI) -> None:
        assert client.get("/api/v1/ledger/witness-key").text.strip() == (
            app.state.ledger_cosigner.key.vkey
        )
        assert app.state.ledger_cosigner.name == f"{app.state.ledger_signer.name}/witness"
