"""Witnessing: libraries cosign each other's checkpoints, so no operator can show two histories.

As a witness, this library fetches a peer's checkpoint (through a ``PeerSource``: HTTP in
``ledger.peer``, anything in tests), checks its signature and that it extends the last checkpoint
seen from that peer (a consistency proof), and cosigns it (``witness_peer``). A smaller tree is a
rollback and is refused; a different root at a size already seen, or a proof that does not hold,
is a split view and is kept as evidence (``ledger_split_views``).

The other side, cosignatures on this library's own checkpoints, is ``ledger.cosignatures``.

Callers own the transaction; ``now`` is passed in. A witnessing that fails never moves the peer's
last size or root: it records ``last_error`` (and the time of the check) only.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from shulian.ledger import merkle
from shulian.ledger.cosign import Cosignature, Cosigner, add_lines
from shulian.ledger.models import (
    LedgerCosignature,
    LedgerPeer,
    LedgerSplitView,
)
from shulian.ledger.note import Checkpoint, NoteError, Verifier, open_checkpoint
from shulian.ledger.schemas import PeerRead, SplitViewRead


class PeerError(Exception):
    """The peer could not be reached, or answered something that is not what it should be."""


class PeerSource(Protocol):
    """Where a peer's published ledger comes from."""

    url: str

    def key(self) -> str:
        """The peer's checkpoint verifier key. Raises: PeerError."""
        ...

    def checkpoint(self) -> str:
        """The peer's latest checkpoint, as a signed note. Raises: PeerError."""
        ...

    def consistency(self, first: int, second: int) -> list[bytes]:
        """The proof that the tree of ``second`` leaves extends that of ``first``.
        Raises: PeerError."""
        ...


Status = Literal["cosigned", "refused", "split_view"]


@dataclass
class WitnessOutcome:
    """What one witnessing found. ``cosigned_note`` (the peer's note with our cosignature) is
    set when it was cosigned; ``new_key`` when the peer's key was trusted on first use."""

    status: Status
    url: str
    origin: str | None = None
    reason: str = ""
    size: int | None = None
    root: bytes | None = None
    previous_size: int | None = None
    cosigned_note: str | None = None
    new_key: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "cosigned"


def _b64(root: bytes | None) -> str:
    return base64.b64encode(root).decode() if root is not None else "-"


def _find_peer(session: Session, url: str, origin: str | None) -> LedgerPeer | None:
    peer = session.scalars(select(LedgerPeer).where(LedgerPeer.url == url)).first()
    if peer is None and origin is not None:
        peer = session.scalars(select(LedgerPeer).where(LedgerPeer.origin == origin)).first()
    return peer


def _refuse(
    peer: LedgerPeer | None, url: str, reason: str, now: datetime, origin: str | None = None
) -> WitnessOutcome:
    if peer is not None:
        peer.last_error, peer.last_checked_at = reason, now
    origin = peer.origin if peer is not None else origin
    return WitnessOutcome(status="refused", url=url, origin=origin, reason=reason)


def _split_view(
    session: Session, peer: LedgerPeer, note: str, reason: str, now: datetime
) -> WitnessOutcome:
    record_split_view(
        session,
        origin=peer.origin,
        reason=reason,
        note_a=peer.last_note or "",
        note_b=note,
        now=now,
    )
    peer.last_error, peer.last_checked_at = f"split view: {reason}", now
    return WitnessOutcome(
        status="split_view",
        url=peer.url,
        origin=peer.origin,
        reason=reason,
        previous_size=peer.last_size,
    )


def record_split_view(
    session: Session, *, origin: str, reason: str, note_a: str, note_b: str, now: datetime
) -> LedgerSplitView:
    """Keep the evidence of a split view (once per pair of notes)."""
    found = session.scalars(
        select(LedgerSplitView).where(
            LedgerSplitView.origin == origin,
            LedgerSplitView.note_a == note_a,
            LedgerSplitView.note_b == note_b,
        )
    ).first()
    if found is not None:
        return found
    row = LedgerSplitView(
        origin=origin, reason=reason, note_a=note_a, note_b=note_b, detected_at=now
    )
    session.add(row)
    session.flush()
    return row


def witness_peer(
    session: Session,
    *,
    source: PeerSource,
    cosigner: Cosigner,
    now: datetime,
    key: str | None = None,
) -> WitnessOutcome:
    """Check the peer's latest checkpoint and cosign it if it is consistent with the last one
    seen from that peer. ``key`` pins the peer's verifier key; without it, a peer seen before is
    checked against its stored key and a new one is trusted on first use (``new_key``).

    Never raises for what the peer did: the outcome says ``refused`` (unreachable, malformed,
    wrong or changed key, bad signature, rollback) or ``split_view`` (recorded), with the reason.
    """
    url = source.url
    given: Verifier | None = None
    if key:
        try:
            given = Verifier.parse(key)
        except NoteError as exc:
            return _refuse(None, url, f"the key given is not a checkpoint key: {exc}", now)
    given_origin = given.name if given is not None else None
    try:
        remote_vkey = source.key()
    except PeerError as exc:
        return _refuse(_find_peer(session, url, given_origin), url, str(exc), now)
    try:
        remote = Verifier.parse(remote_vkey)
    except NoteError as exc:
        peer = _find_peer(session, url, given_origin)
        return _refuse(peer, url, f"{url} publishes a malformed key: {exc}", now)

    peer = _find_peer(session, url, given.name if given else remote.name)
    new_key = None
    if peer is not None:
        trusted = Verifier.parse(peer.vkey)
        if given is not None and given.vkey != peer.vkey:
            reason = (
                f"wrong key: the key given ({given.vkey}) is not the key stored for "
                f"{peer.origin} ({peer.vkey})"
            )
            return _refuse(peer, url, reason, now)
        if remote.vkey != peer.vkey:
            reason = (
                f"key changed: {url} now publishes {remote.vkey}, not the key {peer.vkey} "
                "witnessed before; a log's key must not change"
            )
            return _refuse(peer, url, reason, now)
    elif given is not None:
        if remote.vkey != given.vkey:
            reason = f"wrong key: {url} publishes {remote.vkey}, not the key given ({given.vkey})"
            return _refuse(None, url, reason, now, origin=given.name)
        trusted = given
    else:
        trusted, new_key = remote, remote.vkey

    try:
        note = source.checkpoint()
        cp = open_checkpoint(note, trusted)
    except PeerError as exc:
        return _refuse(peer, url, str(exc), now, origin=trusted.name)
    except NoteError as exc:
        return _refuse(peer, url, f"checkpoint refused: {exc}", now, origin=trusted.name)

    last = peer.last_size if peer is not None else None
    if peer is not None and last is not None:
        if cp.size < last:
            reason = (
                f"rollback: the log now shows {cp.size} leaves, fewer than the {last} "
                "witnessed before"
            )
            return _refuse(peer, url, reason, now)
        if cp.size == last and cp.root != peer.last_root:
            reason = (
                f"two checkpoints of size {last} with different roots: {_b64(peer.last_root)} "
                f"witnessed before, {_b64(cp.root)} now"
            )
            return _split_view(session, peer, note, reason, now)
        if cp.size > last > 0:
            try:
                proof = source.consistency(last, cp.size)
            except PeerError as exc:
                return _refuse(peer, url, str(exc), now)
            try:
                merkle.verify_consistency(
                    first=last,
                    second=cp.size,
                    first_root=peer.last_root or b"",
                    second_root=cp.root,
                    proof=proof,
                )
            except merkle.ProofError as exc:
                reason = (
                    f"the checkpoint of size {cp.size} does not extend the one of size {last} "
                    f"witnessed before: {exc}"
                )
                return _split_view(session, peer, note, reason, now)

    if peer is None:
        peer = LedgerPeer(origin=cp.origin, url=url, vkey=trusted.vkey)
        session.add(peer)
    peer.url, peer.last_size, peer.last_root, peer.last_note = url, cp.size, cp.root, note
    peer.last_checked_at, peer.last_error = now, None
    cosig = cosigner.cosign(note, int(now.timestamp()))
    keep_cosignature(session, cp, cosig, now)
    session.flush()
    return WitnessOutcome(
        status="cosigned",
        url=url,
        origin=cp.origin,
        size=cp.size,
        root=cp.root,
        previous_size=last,
        cosigned_note=add_lines(note, [cosig.line]),
        new_key=new_key,
    )


def record_delivery_failure(session: Session, *, origin: str, reason: str) -> None:
    """Note on the peer that our cosignature did not reach it (the cosignature stays held)."""
    peer = session.scalars(select(LedgerPeer).where(LedgerPeer.origin == origin)).first()
    if peer is not None:
        peer.last_error = f"cosigned, but not delivered: {reason}"


def keep_cosignature(session: Session, cp: Checkpoint, cosig: Cosignature, now: datetime) -> None:
    """Hold ``cosig`` on ``cp``; a newer cosignature by the same witness on the same size
    replaces an older one."""
    row = session.scalars(
        select(LedgerCosignature).where(
            LedgerCosignature.origin == cp.origin,
            LedgerCosignature.tree_size == cp.size,
            LedgerCosignature.witness == cosig.witness,
        )
    ).first()
    if row is None:
        row = LedgerCosignature(origin=cp.origin, tree_size=cp.size, witness=cosig.witness)
        session.add(row)
    elif row.timestamp >= cosig.timestamp:
        return
    row.root_hash, row.timestamp, row.line, row.received_at = (
        cp.root,
        cosig.timestamp,
        cosig.line,
        now,
    )


# --- listings ------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def list_peers(session: Session) -> list[PeerRead]:
    return [
        PeerRead(
            origin=p.origin,
            url=p.url,
            vkey=p.vkey,
            last_size=p.last_size,
            last_root=p.last_root.hex() if p.last_root is not None else None,
            last_checked_at=_iso(p.last_checked_at),
            last_error=p.last_error,
        )
        for p in session.scalars(select(LedgerPeer).order_by(LedgerPeer.origin))
    ]


def list_split_views(session: Session, *, limit: int = 100) -> list[SplitViewRead]:
    rows = session.scalars(
        select(LedgerSplitView).order_by(LedgerSplitView.id.desc()).limit(limit)
    ).all()
    return [
        SplitViewRead(
            id=r.id,
            origin=r.origin,
            reason=r.reason,
            note_a=r.note_a,
            note_b=r.note_b,
            detected_at=r.detected_at.isoformat(),
        )
        for r in rows
    ]
