"""What the staff ledger explorer shows, read from the ledger's tables: checkpoints over time with
their signers and cosigners, any event with its proof checked, the last audit, and the witnessing
tables (peers, cosignatures, split views). Reads only; nothing here changes the ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shulian.core.errors import ShulianError
from shulian.ledger import audit, check, service
from shulian.ledger.errors import EventNotInLedger, NotYetCheckpointed
from shulian.ledger.models import (
    LedgerAudit,
    LedgerCheckpoint,
    LedgerCosignature,
    LedgerLeaf,
    LedgerPeer,
    LedgerSplitView,
)
from shulian.ledger.note import NoteError, Verifier, split_note
from shulian.ledger.schemas import EventReceipt, LeafRead, VerifyResult


@dataclass(frozen=True)
class CheckpointRow:
    tree_size: int
    root_hash: str  # hex
    issued_at: datetime
    signers: list[str]  # the names on the note's own signature lines
    cosigners: list[str]  # witnesses whose cosignatures on this checkpoint we hold


@dataclass(frozen=True)
class EventLookup:
    """One event in the ledger: its leaf, and once a checkpoint covers it, its receipt (proof to
    the latest checkpoint) as checked against the library's key."""

    leaf: LeafRead
    receipt: EventReceipt | None
    result: VerifyResult | None


@dataclass(frozen=True)
class Explorer:
    tree_size: int
    checkpoints: list[CheckpointRow]  # newest first
    audit: LedgerAudit | None
    peers: list[LedgerPeer]
    cosignatures: list[LedgerCosignature]
    split_views: list[LedgerSplitView]
    lookup: EventLookup | None = None
    lookup_error: ShulianError | None = None


def checkpoints(session: Session, *, origin: str, limit: int = 100) -> list[CheckpointRow]:
    """The latest ``limit`` checkpoints, newest first, with who signed and cosigned each."""
    rows = service.list_checkpoints(session, limit=limit)
    sizes = [cp.tree_size for cp in rows]
    cosigned: dict[int, list[str]] = {}
    if sizes:
        for size, witness in session.execute(
            select(LedgerCosignature.tree_size, LedgerCosignature.witness)
            .where(LedgerCosignature.origin == origin, LedgerCosignature.tree_size.in_(sizes))
            .order_by(LedgerCosignature.witness)
        ):
            cosigned.setdefault(size, []).append(witness)
    return [
        CheckpointRow(
            tree_size=cp.tree_size,
            root_hash=cp.root_hash.hex(),
            issued_at=cp.issued_at,
            signers=_signers(cp),
            cosigners=cosigned.get(cp.tree_size, []),
        )
        for cp in rows
    ]


def _signers(cp: LedgerCheckpoint) -> list[str]:
    try:
        _, sigs = split_note(cp.note)
    except NoteError:
        return []
    return [name for name, _, _ in sigs]


def peers(session: Session) -> list[LedgerPeer]:
    return list(session.scalars(select(LedgerPeer).order_by(LedgerPeer.origin)))


def cosignatures(session: Session, *, limit: int = 50) -> list[LedgerCosignature]:
    """The newest cosignatures held: witnesses' on our checkpoints and ours on peers'."""
    return list(
        session.scalars(
            select(LedgerCosignature)
            .order_by(LedgerCosignature.received_at.desc(), LedgerCosignature.id.desc())
            .limit(limit)
        )
    )


def split_views(session: Session) -> list[LedgerSplitView]:
    """Every split view ever detected, newest first (kept for ever as evidence)."""
    return list(
        session.scalars(
            select(LedgerSplitView).order_by(
                LedgerSplitView.detected_at.desc(), LedgerSplitView.id.desc()
            )
        )
    )


def lookup(
    session: Session, *, verifier: Verifier, seq: int | None = None, index: int | None = None
) -> EventLookup:
    """Event ``seq`` (or leaf ``index``) with its proof to the latest checkpoint, checked.

    Raises: LeafNotFound (no such leaf), EventNotInLedger (the event is not in the ledger yet).
    """
    if index is not None:
        leaf = service.leaf(session, index)
    else:
        assert seq is not None
        idx = session.scalar(select(LedgerLeaf.idx).where(LedgerLeaf.event_seq == seq))
        if idx is None:
            raise EventNotInLedger(seq)
        leaf = service.leaf(session, idx)
    try:
        receipt = service.event_receipt(session, seq=leaf.event_seq)
    except NotYetCheckpointed:
        return EventLookup(leaf=leaf, receipt=None, result=None)
    result = check.verify(key=verifier.vkey, receipt=receipt.model_dump())
    return EventLookup(leaf=leaf, receipt=receipt, result=result)


def explorer(
    session: Session,
    *,
    verifier: Verifier,
    seq: int | None = None,
    index: int | None = None,
    limit: int = 100,
) -> Explorer:
    """Everything the staff ledger page shows; a lookup that finds nothing is reported in
    ``lookup_error`` rather than raised, so the rest of the page still shows."""
    found: EventLookup | None = None
    error: ShulianError | None = None
    if seq is not None or index is not None:
        try:
            found = lookup(session, verifier=verifier, seq=seq, index=index)
        except ShulianError as exc:
            error = exc
    return Explorer(
        tree_size=service.tree_size(session),
        checkpoints=checkpoints(session, origin=verifier.name, limit=limit),
        audit=audit.last_audit(session),
        peers=peers(session),
        cosignatures=cosignatures(session),
        split_views=split_views(session),
        lookup=found,
        lookup_error=error,
    )
