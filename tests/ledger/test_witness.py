"""Witnessing between two libraries, each with its own database: library A witnesses library B
through B's real HTTP API (in process), and a hostile peer serves forged checkpoints."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shulian.core.db import session_scope
from shulian.ledger import cosignatures, witness
from shulian.ledger.models import LedgerCosignature, LedgerPeer, LedgerSplitView
from shulian.ledger.note import Checkpoint, Signer, open_checkpoint
from shulian.ledger.peer import HttpPeer
from shulian.ledger.schemas import PeerRead
from tests.conftest import NOW
from tests.ledger.libraries import Library, make_library
from tests.ledger.peers import StaticPeer

B_URL = "http://library-b.test"


@pytest.fixture
def b_http(b: Library) -> Iterator[TestClient]:
    with TestClient(b.app, base_url=B_URL) as c:
        yield c


def _witness(
    a: Library, client: httpx.Client, *, url: str = B_URL, key: str | None = None, minutes: int = 0
) -> witness.WitnessOutcome:
    with session_scope(a.factory) as s:
        return witness.witness_peer(
            s,
            source=HttpPeer(url, client),
            cosigner=a.cosigner,
            now=NOW + timedelta(minutes=minutes),
            key=key,
        )


def _peer(a: Library) -> PeerRead:
    with session_scope(a.factory) as s:
        (peer,) = witness.list_peers(s)
        return peer


def _count(lib: Library, model: type) -> int:
    with session_scope(lib.factory) as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


class TestWitnessing:
    def test_first_contact_trusts_the_published_key_and_cosigns(
        self, a: Library, b: Library, b_http: TestClient
    ) -> None:
        b.grow(5)
        cp = b.sign()
        out = _witness(a, b_http)
        assert out.status == "cosigned", out.reason
        assert out.new_key == b.signer.verifier.vkey and out.origin == b.origin
        assert (out.size, out.root, out.previous_size) == (5, cp.root_hash, None)
        assert out.cosigned_note is not None
        assert open_checkpoint(out.cosigned_note, b.signer.verifier).root == cp.root_hash
        assert a.cosigner.key.verify(out.cosigned_note).timestamp == int(NOW.timestamp())
        peer = _peer(a)
        assert (peer.origin, peer.url, peer.last_size) == (b.origin, B_URL, 5)
        assert peer.last_root == cp.root_hash.hex() and peer.last_error is None
        with session_scope(a.factory) as s:
            (held,) = cosignatures.list_cosignatures(s, origin=b.origin)
        assert (held.witness, held.tree_size) == (a.cosigner.name, 5)

    def test_cosignature_reaches_the_peer_and_is_served_with_its_checkpoint(
        self, a: Library, b: Library, b_http: TestClient
    ) -> None:
        b.grow(3)
        b.sign()
        with session_scope(b.factory) as s:
            cosignatures.trust_witness(s, vkey=a.cosigner.key.vkey, now=NOW)
        out = _witness(a, b_http)
        assert out.cosigned_note is not None
        HttpPeer(B_URL, b_http).deliver(out.cosigned_note)
        (held,) = b_http.get("/api/v1/ledger/cosignatures").json()
        assert (held["witness"], held["origin"], held["tree_size"]) == (
            a.cosigner.name,
            b.origin,
            3,
        )
        served = b_http.get("/api/v1/ledger/checkpoint").text
        assert held["line"] in served
        assert open_checkpoint(served, b.signer.verifier).size == 3
        assert a.cosigner.key.verify(served).witness == a.cosigner.name

    def test_a_grown_log_is_checked_with_a_consistency_proof(
        self, a: Library, b: Library, b_http: TestClient
    ) -> None:
        b.grow(5)
        b.sign()
        assert _witness(a, b_http).ok
        b.grow(8)
        cp = b.sign()
        out = _witness(a, b_http, minutes=5)
        assert out.status == "cosigned" and (out.previous_size, out.size) == (5, 13)
        assert out.new_key is None
        assert _peer(a).last_root == cp.root_hash.hex()
        again = _witness(a, b_http, minutes=10)  # nothing new: cosigned again, later time
        assert again.ok and again.previous_size == 13
        with session_scope(a.factory) as s:
            sizes = sorted(c.tree_size for c in cosignatures.list_cosignatures(s))
        assert sizes == [5, 13]

    def test_a_rollback_is_refused_and_changes_nothing(
        self, a: Library, b: Library, b_http: TestClient
    ) -> None:
        b.grow(4)
        b.sign()
        b.grow(4)
        cp = b.sign()
        assert _witness(a, b_http).size == 8
        b.drop_latest_checkpoint()
        out = _witness(a, b_http, minutes=1)
        assert out.status == "refused" and "rollback" in out.reason and "4 leaves" in out.reason
        peer = _peer(a)
        assert (peer.last_size, peer.last_root) == (8, cp.root_hash.hex())
        assert peer.last_error is not None and "rollback" in peer.last_error
        assert _count(a, LedgerCosignature) == 1

    def test_same_size_with_another_root_is_a_split_view(
        self, a: Library, b: Library, b_http: TestClient
    ) -> None:
        b.grow(6)
        before = b.sign()
        assert _witness(a, b_http).ok
        b.rewrite_history()
        out = _witness(a, b_http, minutes=1)
        assert out.status == "split_view" and "two checkpoints of size 6" in out.reason
        with session_scope(a.factory) as s:
            (view,) = witness.list_split_views(s)
        assert view.origin == b.origin and view.note_a == before.note
        assert open_checkpoint(view.note_b, b.signer.verifier).root != before.root_hash
        peer = _peer(a)
        assert (peer.last_size, peer.last_root) == (6, before.root_hash.hex())
        assert peer.last_error is not None and peer.last_error.startswith("split view")
        assert _count(a, LedgerCosignature) == 1
        _witness(a, b_http, minutes=2)  # seen again: the evidence is kept once
        assert _count(a, LedgerSplitView) == 1

    def test_a_larger_tree_that_does_not_extend_the_last_is_a_split_view(
        self, a: Library, b: Library, b_http: TestClient
    ) -> None:
        b.grow(5)
        b.sign()
        assert _witness(a, b_http).ok
        b.rewrite_history()
        b.grow(6)
        b.sign()
        out = _witness(a, b_http, minutes=1)
        assert out.status == "split_view" and "does not extend" in out.reason
        assert _peer(a).last_size == 5 and _count(a, LedgerSplitView) == 1

    def test_a_wrong_key_is_refused_and_nothing_is_stored(
        self, a: Library, b: Library, b_http: TestClient
    ) -> None:
        b.grow(2)
        b.sign()
        other = Signer.generate(b.origin).verifier.vkey
        out = _witness(a, b_http, key=other)
        assert out.status == "refused" and out.reason.startswith("wrong key")
        assert _count(a, LedgerPeer) == 0 and _count(a, LedgerCosignature) == 0
        out = _witness(a, b_http, key="not-a-key")
        assert out.status == "refused" and "not a checkpoint key" in out.reason

    def test_the_key_given_pins_the_peer(self, a: Library, b: Library, b_http: TestClient) -> None:
        b.grow(2)
        b.sign()
        out = _witness(a, b_http, key=b.signer.verifier.vkey)
        assert out.ok and out.new_key is None
        other = Signer.generate(b.origin).verifier.vkey
        out = _witness(a, b_http, key=other, minutes=1)
        assert out.status == "refused" and "not the key stored" in out.reason

    def test_a_changed_key_is_refused(
        self, a: Library, b: Library, b_http: TestClient, tmp_path: Path
    ) -> None:
        b.grow(2)
        b.sign()
        assert _witness(a, b_http).ok
        rekeyed = make_library(b.db_url, tmp_path / "b-new-key", "library-b")
        try:
            with TestClient(rekeyed.app, base_url=B_URL) as c:
                out = _witness(a, c, minutes=1)
        finally:
            rekeyed.engine.dispose()
        assert out.status == "refused" and out.reason.startswith("key changed")
        assert _peer(a).vkey == b.signer.verifier.vkey

    def test_a_log_without_a_checkpoint_is_refused_with_its_reason(
        self, a: Library, b: Library, b_http: TestClient
    ) -> None:
        out = _witness(a, b_http)
        assert out.status == "refused" and "no checkpoint has been signed yet" in out.reason
        assert _count(a, LedgerPeer) == 0

    def test_an_unreachable_peer_is_refused_and_its_error_kept(
        self, a: Library, b: Library, b_http: TestClient
    ) -> None:
        b.grow(2)
        b.sign()
        assert _witness(a, b_http).ok
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        with httpx.Client(timeout=2) as client:
            out = _witness(a, client, url=f"http://127.0.0.1:{port}", key=b.signer.verifier.vkey)
        assert out.status == "refused" and "could not connect" in out.reason
        peer = _peer(a)  # found by the key's origin: the error is kept, the view is not moved
        assert peer.last_size == 2 and peer.last_error is not None
        assert "could not connect" in peer.last_error


class TestHostilePeer:
    @pytest.fixture
    def hostile(self) -> Iterator[StaticPeer]:
        peer = StaticPeer().start()
        yield peer
        peer.stop()

    def _forged(self, b: Library, size: int, root: bytes) -> str:
        return b.signer.sign(Checkpoint(origin=b.origin, size=size, root=root).text())

    def test_a_forged_checkpoint_of_a_seen_size_is_a_split_view(
        self, a: Library, b: Library, b_http: TestClient, hostile: StaticPeer
    ) -> None:
        b.grow(3)
        b.sign()
        assert _witness(a, b_http).ok
        hostile.key = b.signer.verifier.vkey
        hostile.checkpoint = self._forged(b, 3, b"\x01" * 32)
        with httpx.Client(timeout=5) as client:
            out = _witness(a, client, url=hostile.url, minutes=1)
        assert out.status == "split_view" and "two checkpoints of size 3" in out.reason
        assert _count(a, LedgerSplitView) == 1 and hostile.posted == []

    def test_a_proof_that_does_not_hold_is_a_split_view(
        self, a: Library, b: Library, b_http: TestClient, hostile: StaticPeer
    ) -> None:
        b.grow(3)
        b.sign()
        assert _witness(a, b_http).ok
        hostile.key = b.signer.verifier.vkey
        hostile.checkpoint = self._forged(b, 9, b"\x02" * 32)
        hostile.proof = [b"\x03" * 32, b"\x04" * 32, b"\x05" * 32]
        with httpx.Client(timeout=5) as client:
            out = _witness(a, client, url=hostile.url, minutes=1)
        assert out.status == "split_view" and "does not extend" in out.reason
        assert _peer(a).last_size == 3

    @pytest.mark.parametrize("damage", ["truncated", "reordered", "unsigned", "other origin"])
    def test_a_damaged_checkpoint_is_refused(
        self, a: Library, b: Library, hostile: StaticPeer, damage: str
    ) -> None:
        hostile.key = b.signer.verifier.vkey
        note = self._forged(b, 3, b"\x01" * 32)
        origin, size, root, rest = note.split("\n", 3)
        hostile.checkpoint = {
            "truncated": "\n".join([origin, size, rest]),
            "reordered": "\n".join([origin, root, size, rest]),
            "unsigned": f"{origin}\n{size}\n{root}\n",
            "other origin": Signer.generate("elsewhere.example/ledger").sign(
                Checkpoint(origin="elsewhere.example/ledger", size=3, root=b"\x01" * 32).text()
            ),
        }[damage]
        with httpx.Client(timeout=5) as client:
            out = _witness(a, client, url=hostile.url)
        assert out.status == "refused" and out.reason.startswith("checkpoint refused")
        assert _count(a, LedgerPeer) == 0 and _count(a, LedgerCosignature) == 0

    def test_an_error_answer_is_refused_with_its_detail(
        self, a: Library, hostile: StaticPeer
    ) -> None:
        hostile.status = 503
        with httpx.Client(timeout=5) as client:
            out = _witness(a, client, url=hostile.url)
        assert out.status == "refused"
        assert "answered 503: down for maintenance" in out.reason
