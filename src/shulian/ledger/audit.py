"""The audit behind ``shulian ledger verify``: the ledger against itself, and the tables against
the ledger.

1. The tree. Every stored leaf is re-derived from its event (an event edited or deleted after it
   entered the ledger is found), its hash recomputed, every perfect subtree recomputed and
   compared with the stored one, and every checkpoint's signature and root checked against the
   recomputed tree at its size.
2. The replay. Events that change a row carry the digest of the row after the change
   (``payload["state"]`` for the event's subject, or ``payload["states"]``: row key -> digest).
   Replaying them in order gives what every audited row must look like now; the current rows are
   then digested the same way (``StateSource``: each domain's service provides its own), and a
   row changed, deleted or added behind the platform's back (directly in SQL) is named with its
   table and key.

Both read one snapshot of the database (SQLite's read transaction; REPEATABLE READ on PostgreSQL),
so the platform can keep lending while the audit runs without a desk's checkout looking like
tampering.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shulian.core.events import Event
from shulian.ledger import leaf as leaf_codec
from shulian.ledger import merkle
from shulian.ledger.models import LedgerAudit, LedgerCheckpoint, LedgerLeaf, LedgerNode
from shulian.ledger.note import NoteError, Verifier, open_checkpoint
from shulian.ledger.schemas import AuditProblem, AuditReport

KEEP_PROBLEMS = 10_000  # a report lists this many; problem_count counts them all


@dataclass(frozen=True)
class StateSource:
    """The rows of one audited table: ``rows`` yields (id, state digest) for every row, the
    digest computed exactly as the events that change the row compute it."""

    prefix: str  # the key prefix events use: "loan" for "loan:42"
    table: str  # the table, for the report: "loans"
    rows: Callable[[Session], Iterable[tuple[int, str]]]


Progress = Callable[[str, int], None]  # (stage, done so far); stages: "leaves", "events", "rows"


class _Report:
    def __init__(self) -> None:
        self.problems: list[AuditProblem] = []
        self.count = 0

    def add(self, where: str, problem: str) -> None:
        self.count += 1
        if len(self.problems) < KEEP_PROBLEMS:
            self.problems.append(AuditProblem(where=where, problem=problem))


class _Replay:
    """The last state digest (and the event that left it) of every row the events name."""

    def __init__(self) -> None:
        self.states: dict[str, tuple[str | None, int]] = {}

    def feed(self, seq: int, subject: str | None, payload: Any) -> None:
        if not isinstance(payload, dict):
            return
        many = payload.get("states")
        if isinstance(many, dict):
            for key, digest in many.items():
                self.states[key] = (digest, seq)
        elif subject and "state" in payload:
            self.states[subject] = (payload["state"], seq)


def verify(
    session: Session,
    *,
    verifier: Verifier,
    secret: str,
    sources: Sequence[StateSource] = (),
    progress: Progress | None = None,
    chunk: int = 8192,
) -> AuditReport:
    """Audit the ledger and, for each of ``sources``, the table it reads. Read-only."""
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    report = _Report()
    replay = _Replay()
    leaves, last_seq, checkpoints = _verify_tree(
        session,
        verifier=verifier,
        secret=secret,
        report=report,
        replay=replay,
        progress=progress,
        chunk=chunk,
    )
    _replay_tail(session, replay, after=last_seq, progress=progress, chunk=chunk)
    rows = _compare(session, replay, sources, report, progress=progress)
    return AuditReport(
        ok=report.count == 0,
        leaves=leaves,
        checkpoints=checkpoints,
        rows_checked=rows,
        problem_count=report.count,
        problems=report.problems,
    )


# --- 1. the tree -------------------------------------------------------------------------


def _verify_tree(
    session: Session,
    *,
    verifier: Verifier,
    secret: str,
    report: _Report,
    replay: _Replay,
    progress: Progress | None,
    chunk: int,
) -> tuple[int, int, int]:
    """Returns (leaves, seq of the last leaf's event, checkpoints)."""
    pseudonyms = leaf_codec.Pseudonymizer(secret)
    session.connection()  # the snapshot starts here
    checkpoints = list(
        session.scalars(select(LedgerCheckpoint).order_by(LedgerCheckpoint.tree_size))
    )
    pending = list(checkpoints)
    stack: list[tuple[int, bytes]] = []
    computed: dict[merkle.Key, bytes] = {}
    size = 0
    last_seq = 0

    def checkpoints_at(n: int) -> None:
        while pending and pending[0].tree_size == n:
            _check_checkpoint(pending.pop(0), _fold(stack), verifier, report)

    def flush_nodes() -> None:
        if computed:
            _compare_nodes(session, computed, report)
            computed.clear()

    checkpoints_at(0)
    leaf_hash, encode = merkle.leaf_hash, leaf_codec.encode_fields
    for (
        idx,
        event_seq,
        data,
        stored_hash,
        seq,
        type_,
        at,
        actor,
        branch,
        subject,
        payload,
    ) in _leaf_rows(session, chunk):
        if idx != size:
            report.add(f"ledger_leaves idx={size}", f"leaves jump from {size} to {idx}")
            break
        h = leaf_hash(data)
        if h != stored_hash:
            report.add(f"ledger_leaves idx={idx}", "stored leaf hash does not match the leaf")
        if seq is None:
            report.add(f"events seq={event_seq}", "event deleted behind the ledger's back")
        else:
            fresh = encode(
                pseudonyms,
                seq=seq,
                type=type_,
                at=at,
                actor=actor,
                branch=branch,
                subject=subject,
                payload=payload,
            )
            if fresh != data:
                report.add(f"events seq={seq}", "event changed after it entered the ledger")
            replay.feed(seq, subject, payload)
        last_seq = event_seq
        _push(stack, computed, size, h)
        size += 1
        if pending and pending[0].tree_size == size:
            checkpoints_at(size)
        if size % chunk == 0:
            flush_nodes()
            if progress:
                progress("leaves", size)
    flush_nodes()
    if progress:
        progress("leaves", size)
    for cp in pending:
        report.add(
            f"ledger_checkpoints tree_size={cp.tree_size}",
            f"checkpoint is beyond the {size} stored leaves",
        )
    return size, last_seq, len(checkpoints)


def _push(
    stack: list[tuple[int, bytes]], computed: dict[merkle.Key, bytes], index: int, h: bytes
) -> None:
    """Add leaf ``index`` to the right edge; every perfect subtree it completes goes into
    ``computed`` to be compared with the stored one."""
    stack.append((0, h))
    node_hash = merkle.node_hash
    while len(stack) >= 2 and stack[-1][0] == stack[-2][0]:
        level, right = stack.pop()
        _, left = stack.pop()
        parent = node_hash(left, right)
        stack.append((level + 1, parent))
        computed[(level + 1, ((index + 1) >> (level + 1)) - 1)] = parent


def _fold(stack: Sequence[tuple[int, bytes]]) -> bytes:
    if not stack:
        return merkle.EMPTY_ROOT
    acc = stack[-1][1]
    for _, h in reversed(stack[:-1]):
        acc = merkle.node_hash(h, acc)
    return acc


def _compare_nodes(session: Session, computed: dict[merkle.Key, bytes], report: _Report) -> None:
    """The stored subtree hashes of a run of adjacent subtrees, one range query per level."""
    by_level: dict[int, list[int]] = {}
    for level, idx in computed:
        by_level.setdefault(level, []).append(idx)
    stored: dict[merkle.Key, bytes] = {}
    for level, idxs in by_level.items():
        rows = session.execute(
            select(LedgerNode.idx, LedgerNode.hash).where(
                LedgerNode.level == level, LedgerNode.idx.between(min(idxs), max(idxs))
            )
        )
        stored.update(((level, idx), h) for idx, h in rows)
    for key, h in computed.items():
        if stored.get(key) != h:
            report.add(
                f"ledger_nodes level={key[0]} idx={key[1]}",
                "stored subtree hash is wrong" if key in stored else "subtree hash missing",
            )


def _check_checkpoint(
    cp: LedgerCheckpoint, root: bytes, verifier: Verifier, report: _Report
) -> None:
    where = f"ledger_checkpoints tree_size={cp.tree_size}"
    try:
        parsed = open_checkpoint(cp.note, verifier)
    except NoteError as exc:
        report.add(where, str(exc))
        return
    if parsed.size != cp.tree_size or parsed.root != cp.root_hash:
        report.add(where, "signed note and stored row disagree")
    if parsed.root != root:
        report.add(
            where,
            f"signed root {base64.b64encode(parsed.root).decode()} is not the recomputed root",
        )


_LEAVES_AND_EVENTS = (
    "SELECT l.idx, l.event_seq, l.data, l.leaf_hash, e.seq, e.type, e.occurred_at, e.actor,"
    " e.branch, e.subject, e.payload FROM ledger_leaves l LEFT JOIN events e ON e.seq = l.event_seq"
    " ORDER BY l.idx"
)


def _leaf_rows(session: Session, chunk: int) -> Iterator[tuple[Any, ...]]:
    """Every leaf with its event, streamed as plain driver values (ten million ORM rows would
    cost more than the audit itself), with the time made aware and the payload parsed."""
    result = (
        session.connection()
        .execution_options(stream_results=True, yield_per=chunk)
        .exec_driver_sql(_LEAVES_AND_EVENTS)
    )
    loads, fromiso = json.loads, datetime.fromisoformat
    for row in result:
        idx, event_seq, data, stored, seq, type_, at, actor, branch, subject, payload = row
        if type(at) is str:  # SQLite: naive UTC text
            at = fromiso(at).replace(tzinfo=UTC)
        elif at is not None and at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        if type(payload) is str:
            payload = loads(payload)
        yield (
            idx,
            event_seq,
            bytes(data),
            bytes(stored),
            seq,
            type_,
            at,
            actor,
            branch,
            subject,
            (payload),
        )


# --- 2. the replay -----------------------------------------------------------------------


def _replay_tail(
    session: Session, replay: _Replay, *, after: int, progress: Progress | None, chunk: int
) -> None:
    """Events the ledger has not taken in yet still changed rows: replay them too."""
    ev: Any = Event.__table__
    stmt = (
        select(ev.c.seq, ev.c.subject, ev.c.payload)
        .where(ev.c.seq > after)
        .order_by(ev.c.seq)
        .execution_options(yield_per=chunk)
    )
    n = 0
    for seq, subject, payload in session.connection().execute(stmt):
        replay.feed(seq, subject, payload)
        n += 1
    if progress:
        progress("events", n)


def _compare(
    session: Session,
    replay: _Replay,
    sources: Sequence[StateSource],
    report: _Report,
    *,
    progress: Progress | None,
) -> int:
    states = replay.states
    checked = 0
    for source in sources:
        for rid, digest in source.rows(session):
            checked += 1
            if progress and checked % 10_000 == 0:
                progress("rows", checked)
            key = f"{source.prefix}:{rid}"
            last = states.pop(key, None)
            if last is None or last[0] is None:
                report.add(
                    f"{source.table} id={rid}",
                    "row added behind the platform's back: no event recorded it",
                )
            elif last[0] != digest:
                report.add(
                    f"{source.table} id={rid}",
                    f"row changed behind the platform's back: it is not what event {last[1]} "
                    "left it as",
                )
    tables = {s.prefix: s.table for s in sources}
    gone = []
    for key, (left, last_seq) in states.items():
        prefix, _, key_id = key.partition(":")
        if prefix in tables and left is not None and key_id.isdigit():
            gone.append((prefix, int(key_id), last_seq))
    for prefix, row_id, last_seq in sorted(gone):
        report.add(
            f"{tables[prefix]} id={row_id}",
            f"row deleted behind the platform's back: event {last_seq} left it in place",
        )
    if progress:
        progress("rows", checked)
    return checked


# --- the record of audits ----------------------------------------------------------------


def record_audit(
    session: Session,
    report: AuditReport,
    *,
    started_at: datetime,
    finished_at: datetime,
    started_by: str,
) -> LedgerAudit:
    """Keep the outcome of an audit (the first 200 problems), for the staff ledger page."""
    row = LedgerAudit(
        started_at=started_at,
        finished_at=finished_at,
        ok=report.ok,
        leaves=report.leaves,
        checkpoints=report.checkpoints,
        rows_checked=report.rows_checked,
        problem_count=report.problem_count,
        problems=[p.model_dump() for p in report.problems[:200]],
        started_by=started_by,
    )
    session.add(row)
    session.flush()
    return row


def last_audit(session: Session) -> LedgerAudit | None:
    return session.scalars(select(LedgerAudit).order_by(LedgerAudit.id.desc()).limit(1)).first()


def leaf_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(LedgerLeaf)) or 0
