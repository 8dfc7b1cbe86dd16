"""The event spine: every state change writes one ``events`` row in its own transaction.

Producers call :func:`record` inside the unit of work that makes the change, so the change and
its event commit together or not at all. Consumers (ledger, search, analytics, notices) read the
spine from their own stored offset with :func:`consume`; the handler's writes and the new offset
commit in one transaction, so a consumer killed part-way resumes with nothing lost and nothing
applied twice.

Ordering: on PostgreSQL a sequence value can commit after a larger one, which would let a
consumer skip it. ``record`` therefore takes a transaction-scoped advisory lock before it
allocates ``seq``, so events become visible in ``seq`` order. SQLite has a single writer anyway.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, Table, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from shulian.core.db import Base, UTCDateTime, canonical_json, session_scope

EVENT_LOCK_KEY = 0x5348554C  # "SHUL": the advisory lock that orders the spine on PostgreSQL

# BigInteger on PostgreSQL, INTEGER PRIMARY KEY (the rowid) on SQLite.
SeqType = BigInteger().with_variant(Integer(), "sqlite")


class Event(Base):
    """One state change. ``subject`` is ``<kind>:<id>`` (``reader:42``); never personal data."""

    __tablename__ = "events"

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(64), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str | None] = mapped_column(String(64))
    branch: Mapped[str | None] = mapped_column(String(32))
    subject: Mapped[str | None] = mapped_column(String(128), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ConsumerOffset(Base):
    """How far one consumer has read the spine: the last ``seq`` it applied."""

    __tablename__ = "consumer_offsets"

    consumer: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_seq: Mapped[int] = mapped_column(SeqType, default=0)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def record(
    session: Session,
    *,
    type: str,
    now: datetime,
    actor: str | None = None,
    branch: str | None = None,
    subject: str | None = None,
    payload: dict[str, Any] | None = None,
) -> Event:
    """Append an event to the spine within the caller's transaction (flushed, not committed)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": EVENT_LOCK_KEY})
    ev = Event(
        type=type,
        occurred_at=now,
        actor=actor,
        branch=branch,
        subject=subject,
        payload=payload or {},
    )
    session.add(ev)
    session.flush()
    return ev


def state_digest(state: dict[str, Any]) -> str:
    """16 bytes of SHA-256 over the canonical JSON of a row's ``state``, in hex: what an event
    carries so the ledger audit can tell whether the row was changed behind the platform."""
    return text_digest(canonical_json(state))


def text_digest(canonical: str) -> str:
    """:func:`state_digest` of a state whose canonical JSON text is already written."""
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


_EVENTS: Table = Event.__table__  # type: ignore[assignment]


def record_many(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Append many events at once (bulk imports); each row has ``record``'s keyword arguments,
    with ``now`` named ``occurred_at``. Same transaction rules as :func:`record`."""
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": EVENT_LOCK_KEY})
    session.execute(
        insert(_EVENTS),
        [
            {
                "type": r["type"],
                "occurred_at": r["occurred_at"],
                "actor": r.get("actor"),
                "branch": r.get("branch"),
                "subject": r.get("subject"),
                "payload": r.get("payload") or {},
            }
            for r in rows
        ],
    )


Handler = Callable[[Session, Event], None]


def offset_of(session: Session, consumer: str) -> int:
    row = session.get(ConsumerOffset, consumer)
    return row.last_seq if row else 0


def newest_seq(session: Session) -> int:
    """The ``seq`` of the newest event (0 when the spine is empty)."""
    return int(session.scalar(select(func.max(Event.seq))) or 0)


def events_after(session: Session, position: int) -> int:
    """How many events a consumer that has applied up to ``position`` is behind (its lag)."""
    return max(0, newest_seq(session) - position)


def consume(
    factory: sessionmaker[Session],
    consumer: str,
    handler: Handler,
    *,
    now: datetime,
    batch_size: int = 500,
    max_batches: int | None = None,
) -> int:
    """Apply ``handler`` to every event after ``consumer``'s offset, in batches.

    Each batch is one transaction: the handler's writes and the advanced offset commit together.
    The offset row is locked for the batch (``FOR UPDATE``; SQLite's writer lock), so two
    processes running the same consumer never apply an event twice. Returns how many events
    were applied.
    """

    def each(session: Session, batch: Sequence[Event]) -> None:
        for ev in batch:
            handler(session, ev)

    return consume_batches(
        factory, consumer, each, now=now, batch_size=batch_size, max_batches=max_batches
    )


BatchHandler = Callable[[Session, Sequence[Event]], object]


def consume_batches(
    factory: sessionmaker[Session],
    consumer: str,
    handler: BatchHandler,
    *,
    now: datetime,
    batch_size: int = 500,
    max_batches: int | None = None,
) -> int:
    """As ``consume``, for consumers that work a whole batch at once (the ledger)."""
    applied = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        with session_scope(factory) as session:
            offset = _lock_offset(session, consumer, now)
            events = session.scalars(
                select(Event)
                .where(Event.seq > offset.last_seq)
                .order_by(Event.seq)
                .limit(batch_size)
            ).all()
            if not events:
                return applied
            handler(session, events)
            offset.last_seq = events[-1].seq
            offset.updated_at = now
            applied += len(events)
        batches += 1
    return applied


def _lock_offset(session: Session, consumer: str, now: datetime) -> ConsumerOffset:
    """The consumer's offset row, locked for this transaction; created at its first run.

    Two processes starting the same consumer at once may both find no row: the second insert
    waits for the first (PostgreSQL), fails on the key, and then locks the row the first made.
    """
    stmt = select(ConsumerOffset).where(ConsumerOffset.consumer == consumer).with_for_update()
    row = session.scalars(stmt).one_or_none()
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = ConsumerOffset(consumer=consumer, last_seq=0, updated_at=now)
            session.add(row)
    except IntegrityError:
        return session.scalars(stmt).one()
    return row
