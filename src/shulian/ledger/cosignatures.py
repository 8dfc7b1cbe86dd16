"""Cosignatures on this library's own checkpoints: which witnesses are trusted, taking in what
they send (``receive_cosignatures``), and serving them with the checkpoint (``checkpoint_note``).

Callers own the transaction; nothing is stored when an operation raises.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from shulian.ledger import service
from shulian.ledger.cosign import Cosignature, CosignerKey, add_lines
from shulian.ledger.errors import (
    CosignatureNotTrusted,
    CosignatureRejected,
    InvalidWitnessKey,
    WitnessKeyConflict,
)
from shulian.ledger.models import (
    LedgerCheckpoint,
    LedgerCosignature,
    LedgerSplitView,
    LedgerWitness,
)
from shulian.ledger.note import Checkpoint, NoteError, Verifier, open_checkpoint, split_note
from shulian.ledger.schemas import CosignatureRead, WitnessRead
from shulian.ledger.witness import keep_cosignature, record_split_view

MAX_NOTE = 64 * 1024
CLOCK_SKEW = timedelta(minutes=10)  # how far in the future a cosignature's time may be


@dataclass
class Received:
    """The cosignatures kept from one note, or the split view it revealed."""

    cosignatures: list[LedgerCosignature]
    split_view: LedgerSplitView | None = None


def receive_cosignatures(
    session: Session, *, note: str, log_key: Verifier, now: datetime
) -> Received:
    """Keep the cosignatures in ``note`` made by trusted witnesses on one of our checkpoints.

    A note signed with our key whose root is not our tree's root at its size is a split view
    shown to the witness: it is recorded and returned (the caller keeps it and refuses).
    Raises: CosignatureRejected (malformed, not our checkpoint, no cosignature, time in the
    future), CosignatureNotTrusted (no trusted witness cosigned it, or a cosignature does not
    verify). Nothing is stored when it raises.
    """
    if len(note) > MAX_NOTE:
        raise CosignatureRejected(f"note is longer than {MAX_NOTE} characters")
    try:
        cp = open_checkpoint(note, log_key)
        _, sigs = split_note(note)
    except NoteError as exc:
        raise CosignatureRejected(f"not a checkpoint of this library: {exc}") from None
    size = service.tree_size(session)
    reason, note_a = None, ""
    if cp.size > size:
        reason = f"a checkpoint signed with our key for {cp.size} leaves, but our tree has {size}"
    else:
        root = service.root_hash(session, cp.size)
        if root != cp.root:
            reason = f"a checkpoint signed with our key whose root at size {cp.size} is not ours"
            ours = session.scalars(
                select(LedgerCheckpoint).where(LedgerCheckpoint.tree_size == cp.size)
            ).first()
            # Our own signed view of that size, or at least the checkpoint body of our root.
            note_a = ours.note if ours is not None else Checkpoint(cp.origin, cp.size, root).text()
    if reason is not None:
        view = record_split_view(
            session, origin=cp.origin, reason=reason, note_a=note_a, note_b=note, now=now
        )
        return Received(cosignatures=[], split_view=view)

    names = {name for name, _, _ in sigs if name != log_key.name}
    if not names:
        raise CosignatureRejected("the note carries no cosignature")
    trusted = session.scalars(select(LedgerWitness).where(LedgerWitness.name.in_(names))).all()
    if not trusted:
        raise CosignatureNotTrusted(
            f"no witness this library trusts cosigned it (signed by {', '.join(sorted(names))})"
        )
    found: list[Cosignature] = []
    for w in trusted:
        try:
            found.append(CosignerKey.parse(w.vkey).verify(note))
        except NoteError as exc:
            raise CosignatureNotTrusted(str(exc)) from None
    for c in found:
        if datetime.fromtimestamp(c.timestamp, UTC) > now + CLOCK_SKEW:
            raise CosignatureRejected(f"cosignature of {c.witness} is dated in the future")
    for c in found:
        keep_cosignature(session, cp, c, now)
    session.flush()
    rows = session.scalars(
        select(LedgerCosignature).where(
            LedgerCosignature.origin == cp.origin,
            LedgerCosignature.tree_size == cp.size,
            LedgerCosignature.witness.in_([c.witness for c in found]),
        )
    ).all()
    return Received(cosignatures=list(rows))


def checkpoint_note(session: Session, cp: LedgerCheckpoint, origin: str) -> str:
    """Our checkpoint's note with the cosignatures held for it appended (C2SP style: a verifier
    that knows only our key still verifies it, and skips the witnesses' lines)."""
    rows = session.scalars(
        select(LedgerCosignature)
        .where(
            LedgerCosignature.origin == origin,
            LedgerCosignature.tree_size == cp.tree_size,
            LedgerCosignature.root_hash == cp.root_hash,
        )
        .order_by(LedgerCosignature.witness)
    ).all()
    return add_lines(cp.note, [r.line for r in rows])


def trust_witness(session: Session, *, vkey: str, now: datetime) -> LedgerWitness:
    """Accept cosignatures from the witness with this verifier key from now on (again with the
    same key is a no-op). Raises: InvalidWitnessKey, WitnessKeyConflict (name taken by another
    key)."""
    try:
        key = CosignerKey.parse(vkey)
    except NoteError as exc:
        raise InvalidWitnessKey(str(exc)) from None
    row = session.scalars(select(LedgerWitness).where(LedgerWitness.name == key.name)).first()
    if row is not None:
        if row.vkey != key.vkey:
            raise WitnessKeyConflict(key.name)
        return row
    row = LedgerWitness(name=key.name, vkey=key.vkey, added_at=now)
    session.add(row)
    session.flush()
    return row


def untrust_witness(session: Session, *, name: str) -> bool:
    """Stop accepting the witness's cosignatures (those already held stay). Returns whether it
    was trusted."""
    row = session.scalars(select(LedgerWitness).where(LedgerWitness.name == name)).first()
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


# --- listings ---------------------------------------------------------------------------


def cosignature_reads(rows: Sequence[LedgerCosignature]) -> list[CosignatureRead]:
    return [
        CosignatureRead(
            origin=r.origin,
            tree_size=r.tree_size,
            root_hash=r.root_hash.hex(),
            witness=r.witness,
            timestamp=r.timestamp,
            time=datetime.fromtimestamp(r.timestamp, UTC).isoformat(),
            line=r.line,
            received_at=r.received_at.isoformat(),
        )
        for r in rows
    ]


def list_cosignatures(
    session: Session, *, origin: str | None = None, limit: int = 100
) -> list[CosignatureRead]:
    """Newest first; only those on ``origin``'s checkpoints when it is given."""
    stmt = select(LedgerCosignature)
    if origin is not None:
        stmt = stmt.where(LedgerCosignature.origin == origin)
    order = (LedgerCosignature.received_at.desc(), LedgerCosignature.id.desc())
    return cosignature_reads(session.scalars(stmt.order_by(*order).limit(limit)).all())


def witness_read(w: LedgerWitness) -> WitnessRead:
    return WitnessRead(name=w.name, vkey=w.vkey, added_at=w.added_at.isoformat())


def list_witnesses(session: Session) -> list[WitnessRead]:
    return [
        witness_read(w) for w in session.scalars(select(LedgerWitness).order_by(LedgerWitness.name))
    ]
