"""The ledger over the real database: events become leaves, checkpoints are signed, proofs
verify with the independent RFC 9162 verifier, and tampering is found and named."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from shulian.core import events
from shulian.core.db import make_sessionmaker, session_scope
from shulian.ledger import service
from shulian.ledger.errors import EventNotInLedger, InvalidProofRequest, NotYetCheckpointed
from shulian.ledger.note import Signer, Verifier, load_or_create_signer, open_checkpoint
from tests.conftest import NOW
from tests.ledger import rfc9162

SECRET = "ledger-test-secret"


@pytest.fixture
def signer() -> Signer:
    return Signer.generate("test.library/ledger")


@pytest.fixture
def factory(scratch_engines: Callable[..., Engine]) -> sessionmaker[Session]:
    return make_sessionmaker(scratch_engines())


def _record(factory: sessionmaker[Session], n: int, **extra: object) -> None:
    with session_scope(factory) as s:
        for i in range(n):
            events.record(
                s,
                type="test.loan",
                now=NOW,
                actor="staff:3",
                branch="B01",
                subject=f"reader:{100 + i % 7}",
                payload={"item": f"item:{i}", "reader": "reader:5", **extra},
            )


def _checkpoint(factory: sessionmaker[Session], signer: Signer) -> tuple[int, bytes, str]:
    with session_scope(factory) as s:
        cp = service.issue_checkpoint(s, signer=signer, now=NOW)
        return cp.tree_size, cp.root_hash, cp.note


class TestAppend:
    def test_catch_up_appends_every_event_once(
        self, factory: sessionmaker[Session], signer: Signer
    ) -> None:
        _record(factory, 37)
        assert service.catch_up(factory, secret=SECRET, now=NOW, batch_size=10) == 37
        assert service.catch_up(factory, secret=SECRET, now=NOW) == 0
        _record(factory, 5)
        assert service.catch_up(factory, secret=SECRET, now=NOW) == 5
        with session_scope(factory) as s:
            assert service.tree_size(s) == 42
            leaves = [bytes.fromhex(service.leaf(s, i).leaf_hash) for i in range(42)]
            data = [service.leaf(s, i).data.encode() for i in range(42)]
            assert service.root_hash(s, 42) == rfc9162.mth(data)
            assert leaves == [rfc9162.hash_leaf(d) for d in data]

    def test_leaves_carry_pseudonyms_not_reader_ids(self, factory: sessionmaker[Session]) -> None:
        _record(factory, 3)
        service.catch_up(factory, secret=SECRET, now=NOW)
        with session_scope(factory) as s:
            doc = json.loads(service.leaf(s, 0).data)
        assert doc["subject"].startswith("reader:~") and doc["payload"]["reader"].startswith(
            "reader:~"
        )
        assert "reader:100" not in json.dumps(doc) and "reader:5" not in json.dumps(doc)
        assert doc["actor"] == "staff:3" and doc["payload"]["item"] == "item:0"
        # The same reader gets the same pseudonym; another library's secret gives another.
        with session_scope(factory) as s:
            later = json.loads(service.leaf(s, 2).data)
        assert later["payload"]["reader"] == doc["payload"]["reader"]


class TestCheckpointsAndProofs:
    def test_checkpoint_is_a_signed_note_of_the_root(
        self, factory: sessionmaker[Session], signer: Signer
    ) -> None:
        _record(factory, 11)
        service.catch_up(factory, secret=SECRET, now=NOW)
        size, root, note = _checkpoint(factory, signer)
        cp = open_checkpoint(note, Verifier.parse(signer.verifier.vkey))
        assert (cp.size, cp.root) == (size, root) == (11, cp.root)
        # Nothing new: the same checkpoint comes back rather than a second one.
        assert _checkpoint(factory, signer)[2] == note

    def test_inclusion_and_consistency_proofs_verify_independently(
        self, factory: sessionmaker[Session], signer: Signer
    ) -> None:
        _record(factory, 13)
        service.catch_up(factory, secret=SECRET, now=NOW)
        first_size, first_root, _ = _checkpoint(factory, signer)
        _record(factory, 20)
        service.catch_up(factory, secret=SECRET, now=NOW)
        size, root, _ = _checkpoint(factory, signer)
        with session_scope(factory) as s:
            for index in range(size):
                p = service.inclusion_proof(s, index=index)
                assert p.tree_size == size and p.root_hash == root.hex()
                assert rfc9162.verify_inclusion(
                    bytes.fromhex(p.leaf_hash),
                    index,
                    size,
                    [bytes.fromhex(x) for x in p.proof],
                    root,
                )
            c = service.consistency_proof(s, first=first_size, second=size)
        assert rfc9162.verify_consistency(
            first_size, size, first_root, root, [bytes.fromhex(x) for x in c.proof]
        )

    def test_receipt_waits_for_a_checkpoint(
        self, factory: sessionmaker[Session], signer: Signer
    ) -> None:
        _record(factory, 4)
        with session_scope(factory) as s, pytest.raises(EventNotInLedger):
            service.event_receipt(s, seq=4)
        service.catch_up(factory, secret=SECRET, now=NOW)
        with session_scope(factory) as s, pytest.raises(NotYetCheckpointed):
            service.event_receipt(s, seq=4)
        _checkpoint(factory, signer)
        with session_scope(factory) as s:
            receipt = service.event_receipt(s, seq=4)
        cp = open_checkpoint(receipt.checkpoint, signer.verifier)
        assert rfc9162.verify_inclusion(
            rfc9162.hash_leaf(receipt.leaf.data.encode()),
            receipt.leaf.index,
            cp.size,
            [bytes.fromhex(x) for x in receipt.proof.proof],
            cp.root,
        )

    def test_bad_proof_requests_say_why(
        self, factory: sessionmaker[Session], signer: Signer
    ) -> None:
        _record(factory, 5)
        service.catch_up(factory, secret=SECRET, now=NOW)
        with session_scope(factory) as s:
            with pytest.raises(InvalidProofRequest, match="outside a tree of 3"):
                service.inclusion_proof(s, index=4, size=3)
            with pytest.raises(InvalidProofRequest, match="beyond the ledger"):
                service.inclusion_proof(s, index=1, size=99)
            with pytest.raises(InvalidProofRequest, match="from size 4 to size 2"):
                service.consistency_proof(s, first=4, second=2)


class TestVerify:
    def _ledger(self, factory: sessionmaker[Session], signer: Signer, n: int = 40) -> None:
        _record(factory, n)
        service.catch_up(factory, secret=SECRET, now=NOW)
        _checkpoint(factory, signer)

    def _report(self, factory: sessionmaker[Session], signer: Signer) -> list[tuple[str, str]]:
        with session_scope(factory) as s:
            report = service.verify_tree(s, verifier=signer.verifier, secret=SECRET, chunk=8)
        return [(p.where, p.problem) for p in report.problems]

    def test_untouched_ledger_verifies(
        self, factory: sessionmaker[Session], signer: Signer
    ) -> None:
        self._ledger(factory, signer)
        assert self._report(factory, signer) == []

    def test_edits_behind_the_platforms_back_are_named(
        self, factory: sessionmaker[Session], signer: Signer
    ) -> None:
        self._ledger(factory, signer)
        with session_scope(factory) as s:
            s.execute(text("UPDATE events SET branch = 'B99' WHERE seq = 7"))
            s.execute(text("DELETE FROM events WHERE seq = 12"))
            s.execute(
                text("UPDATE ledger_nodes SET hash = :h WHERE level = 3 AND idx = 1"),
                {"h": b"\x00" * 32},
            )
        problems = dict(self._report(factory, signer))
        assert problems["events seq=7"] == "event changed after it entered the ledger"
        assert problems["events seq=12"] == "event deleted behind the ledger's back"
        assert problems["ledger_nodes level=3 idx=1"] == "stored subtree hash is wrong"

    def test_rewritten_leaf_breaks_the_signed_root(
        self, factory: sessionmaker[Session], signer: Signer
    ) -> None:
        self._ledger(factory, signer)
        forged = b'{"forged":true}'
        with session_scope(factory) as s:
            s.execute(
                text("UPDATE ledger_leaves SET data = :d, leaf_hash = :h WHERE idx = 3"),
                {"d": forged, "h": rfc9162.hash_leaf(forged)},
            )
        wheres = {w for w, _ in self._report(factory, signer)}
        assert "ledger_checkpoints tree_size=40" in wheres
        assert "events seq=4" in wheres

    def test_checkpoint_signed_by_another_key_is_rejected(
        self, factory: sessionmaker[Session], signer: Signer
    ) -> None:
        self._ledger(factory, signer)
        impostor = Signer.generate(signer.name)
        with session_scope(factory) as s:
            cp = service.latest_checkpoint(s)
            assert cp is not None
            text_part = cp.note.split("\n\n")[0] + "\n"
            cp.note = impostor.sign(text_part)
        problems = self._report(factory, signer)
        assert problems == [
            ("ledger_checkpoints tree_size=40", "checkpoint is not signed by test.library/ledger")
        ]


def test_signing_key_is_created_owner_only(tmp_path: Path) -> None:
    signer = load_or_create_signer(tmp_path / "ledger", "lib.example/ledger")
    assert (tmp_path / "ledger" / "ledger.key").stat().st_mode & 0o777 == 0o600
    again = load_or_create_signer(tmp_path / "ledger", "lib.example/ledger")
    assert again.verifier == signer.verifier
    assert Verifier.parse((tmp_path / "ledger" / "ledger.vkey").read_text()) == signer.verifier
