"""The event spine: every state change writes one ``events`` row in its own transaction.

Producers call :func:`record` inside the unit of work that makes the change, so the change and
its event commit together or not at all. Consumers (ledger, search, analytics, notices) read the
spine from their own stored offset with :func:`consume`; the handler's writes and the new offset
commit in one transaction, so a consumer killed part-way resumes with nothing lost and nothing
applied twice.

Ordering without a lock: on PostgreSQL writers take ``seq`` values as they go and commit in any
order, so seq 41 may become visible after seq 42, or never (its transaction rolled back). A
consumer therefore reads only up to a *safe horizon* (:class:`Horizon`): a seq below which every
event is committed or will never be. The horizon comes from commit visibility, not from
serialising writers: ``record`` makes sure its transaction has an id before it takes a seq, so
any transaction that could still commit a seq at or below the highest one visible in a snapshot
has an id below that snapshot's ``xmax``; once no transaction of this database with an id below
it is still running, everything up to that highest seq is final. A gap that is still there then
was rolled back and is passed over. A consumer lags by about its poll interval (a sample is
taken one round and found safe the next); a transaction left open holds consumers back until it
ends, which the idle-in-transaction and statement timeouts bound (``make_engine``). SQLite has a
single writer: everything visible is safe.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, Table, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from shulian.core.db import WROTE, Base, UTCDateTime, canonical_json, has_written, session_scope

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
    _claim_transaction_id(session)
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


def _claim_transaction_id(session: Session) -> None:
    """On PostgreSQL, give the transaction its id before it takes a seq (see the module
    docstring). A transaction that has written already has one: most do (the change comes
    before its event), so this costs a statement only when the event is the first write."""
    if session.get_bind().dialect.name != "postgresql" or has_written(session):
        return
    session.execute(text("SELECT pg_current_xact_id()"))
    session.connection().info[WROTE] = True


_SAMPLE = text(
    "SELECT pg_snapshot_xmax(pg_current_snapshot())::text, (SELECT max(seq) FROM events)"
)
# Ids of the transactions of this database still running, but ours: every transaction holds an
# exclusive lock on its own id (pg_locks is read live; pg_stat_activity only names the database).
_RUNNING = text(
    "SELECT l.transactionid::text FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
    " WHERE l.locktype = 'transactionid' AND l.mode = 'ExclusiveLock' AND l.granted"
    " AND a.datname = current_database() AND l.pid <> pg_backend_pid()"
)


def _widen(xid32: int, now64: int) -> int:
    """A 32-bit transaction id as the 64-bit one it is, given a newer 64-bit id."""
    high, low = now64 >> 32, now64 & 0xFFFFFFFF
    return ((high if xid32 <= low else high - 1) << 32) | xid32


class Horizon:
    """How far one consumer may read the spine: :meth:`safe_seq` is a seq at or below which
    every event is committed or rolled back for good (see the module docstring). Keep one per
    consumer and ask it each round; it only moves forward."""

    def __init__(self) -> None:
        self._safe = 0
        self._pending: tuple[int, int] | None = None  # (xmax, highest seq) of a snapshot

    def safe_seq(self, session: Session) -> int:
        if session.get_bind().dialect.name != "postgresql":
            self._safe = max(self._safe, newest_seq(session))
            return self._safe
        xmax_text, newest = session.execute(_SAMPLE).one()
        xmax, newest = int(xmax_text), int(newest or 0)
        running = [_widen(int(x), xmax) for (x,) in session.execute(_RUNNING)]
        oldest = min(running, default=xmax)
        if oldest >= xmax:  # nothing that could still add a seq up to ``newest`` is running
            self._safe, self._pending = max(self._safe, newest), None
        elif self._pending is not None and oldest >= self._pending[0]:
            self._safe = max(self._safe, self._pending[1])
            self._pending = (xmax, newest)
        elif self._pending is None:
            self._pending = (xmax, newest)
        return self._safe

    def settle(
        self, factory: sessionmaker[Session], *, timeout: float = 30.0, poll: float = 0.02
    ) -> int:
        """Ask until everything visible now is safe (the transactions running now have ended),
        or ``timeout`` has passed; for one-off consumers (the command line) that have no next
        round. Returns the safe seq."""
        with session_scope(factory) as session:
            target = newest_seq(session)
            safe = self.safe_seq(session)
        deadline = time.monotonic() + timeout
        while safe < target and time.monotonic() < deadline:
            time.sleep(poll)
            with session_scope(factory) as session:
                safe = self.safe_seq(session)
        return safe


def record_many(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Append many events at once (bulk imports); each row has ``record``'s keyword arguments,
    with ``now`` named ``occurred_at``. Same transaction rules as :func:`record`."""
    if not rows:
        return
    _claim_transaction_id(session)
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
    horizon: Horizon | None = None,
) -> int:
    """Apply ``handler`` to every event after ``consumer``'s offset, up to the safe horizon, in
    batches.

    Each batch is one transaction: the handler's writes and the advanced offset commit together.
    The offset row is locked for the batch (``FOR UPDATE``; SQLite's writer lock), so two
    processes running the same consumer never apply an event twice. A consumer that runs in
    rounds passes its own ``horizon``; without one, this waits for the transactions running now
    to end (``Horizon.settle``). Returns how many events were applied.
    """

    def each(session: Session, batch: Sequence[Event]) -> None:
        for ev in batch:
            handler(session, ev)

    return consume_batches(
        factory,
        consumer,
        each,
        now=now,
        batch_size=batch_size,
        max_batches=max_batches,
        horizon=horizon,
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
    horizon: Horizon | None = None,
) -> int:
    """As ``consume``, for consumers that work a whole batch at once (the ledger)."""
    if horizon is None:
        horizon = Horizon()
        horizon.settle(factory)
    applied = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        with session_scope(factory) as session:
            offset = _lock_offset(session, consumer, now)
            safe = horizon.safe_seq(session)
            events = session.scalars(
                select(Event)
                .where(Event.seq > offset.last_seq, Event.seq <= safe)
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
