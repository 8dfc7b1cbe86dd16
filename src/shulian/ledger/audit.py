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
from collections.abc import Callable, Generator, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing import get_context
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from shulian.core.events import Event
from shulian.ledger import leaf as leaf_codec, merkle
from shulian.ledger.models import LedgerAudit, LedgerCheckpoint, LedgerLeaf, LedgerNode
from shulian.ledger.note import NoteError, Verifier, open_checkpoint
from shulian.ledger.schemas import AuditProblem, AuditReport

KEEP_PROBLEMS = 10_000  # a report lists this many; problem_count counts them all
SPAN = 1 << 18  # leaves per unit of work: aligned, so a span's subtrees are the tree's own


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
    workers: int = 1,
    database_url: str | None = None,
    span: int = SPAN,
) -> AuditReport:
    """Audit the ledger and, for each of ``sources``, the table it reads. Read-only.

    With ``workers`` > 1 and the ``database_url`` to reach the database again, spans of
    ``span`` leaves (a power of two) are checked in that many processes while this one digests
    the tables; the outcome is the same as in one process.
    """
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    report = _Report()
    replay = _Replay()
    # This session's snapshot starts here: the tree it checks and the rows it compares.
    size = (session.scalar(select(func.max(LedgerLeaf.idx))) or -1) + 1
    checkpoints = list(
        session.scalars(select(LedgerCheckpoint).order_by(LedgerCheckpoint.tree_size))
    )
    ranges = [(a, min(a + span, size)) for a in range(0, size, span)]
    wanted = [cp.tree_size for cp in checkpoints]
    parallel = workers > 1 and database_url is not None and len(ranges) > 1
    current: Current | None = None
    if parallel:
        assert database_url is not None
        pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=get_context("spawn"),
            initializer=_worker_start,
            initargs=(database_url, secret),
        )
        try:
            futures = [
                pool.submit(_worker_span, a, b, [n for n in wanted if a < n <= b], chunk)
                for a, b in ranges
            ]
            # While the workers recompute the tree, this process digests the tables.
            current = _current_states(session, sources, progress)
            spans: Iterable[Span] = (f.result() for f in futures)
            leaves, last_seq = _merge(session, spans, ranges, checkpoints, verifier, report,
                                      replay, progress)  # fmt: skip
        finally:
            pool.shutdown(cancel_futures=True)
    else:
        pseudonyms = leaf_codec.Pseudonymizer(secret)
        spans = (
            _verify_span(session, pseudonyms, a, b, [n for n in wanted if a < n <= b], chunk)
            for a, b in ranges
        )
        leaves, last_seq = _merge(
            session, spans, ranges, checkpoints, verifier, report, replay, progress
        )
    _replay_tail(session, replay, after=last_seq, progress=progress, chunk=chunk)
    if current is None:
        current = _current_states(session, sources, progress)
    rows = _compare(replay, current, sources, report)
    return AuditReport(
        ok=report.count == 0,
        leaves=leaves,
        checkpoints=len(checkpoints),
        rows_checked=rows,
        problem_count=report.count,
        problems=report.problems,
    )


# --- 1. the tree -------------------------------------------------------------------------


@dataclass
class Span:
    """What checking leaves [start, end) found, for the caller to join with the other spans."""

    problems: list[tuple[str, str]]
    count: int
    stack: list[tuple[int, bytes]]  # the span's perfect subtrees, largest first
    stacks_at: dict[int, list[tuple[int, bytes]]]  # the same at each checkpoint size inside it
    states: dict[str, tuple[str | None, int]]  # the replay of its events
    last_seq: int
    gap: tuple[int, int] | None  # (expected index, found index) where the leaves jump
    leaves: int


def _verify_span(
    session: Session,
    pseudonyms: leaf_codec.Pseudonymizer,
    start: int,
    end: int,
    sizes: Sequence[int],
    chunk: int,
) -> Span:
    report = _Report()
    replay = _Replay()
    stack: list[tuple[int, bytes]] = []
    stacks_at: dict[int, list[tuple[int, bytes]]] = {}
    pending = sorted(sizes)
    computed: dict[merkle.Key, bytes] = {}
    index, last_seq, gap = start, 0, None
    leaf_hash, loads = merkle.leaf_hash, json.loads
    encode, stored_text = leaf_codec.encode_fields, leaf_codec.encode_stored
    rows = _leaf_rows(session, start, end, chunk)
    for idx, event_seq, data, stored, seq, type_, at, actor, branch, subject, payload in rows:
        if idx != index:
            gap = (index, idx)
            break
        h = leaf_hash(data)
        if h != stored:
            report.add(f"ledger_leaves idx={idx}", "stored leaf hash does not match the leaf")
        if seq is None:
            report.add(f"events seq={event_seq}", "event deleted behind the ledger's back")
        else:
            # The payload's stored text is canonical: the leaf is built around it unparsed;
            # anything else (or a mismatch) is decided by the encoding from parsed values.
            fresh = stored_text(
                pseudonyms, seq=seq, type=type_, at=_leaf_time(at), actor=actor, branch=branch,
                subject=subject, payload=payload,
            )  # fmt: skip
            parsed = loads(payload)
            if fresh != data:
                try:
                    fresh = encode(
                        pseudonyms, seq=seq, type=type_, at=_aware(at), actor=actor,
                        branch=branch, subject=subject, payload=parsed,
                    )  # fmt: skip
                except (ValueError, TypeError):  # a time that is no time: edited by hand
                    fresh = None
                if fresh != data:
                    report.add(f"events seq={seq}", "event changed after it entered the ledger")
            replay.feed(seq, subject, parsed)
        last_seq = event_seq
        _push(stack, computed, index, h)
        index += 1
        if pending and pending[0] == index:
            stacks_at[pending.pop(0)] = list(stack)
        if len(computed) >= chunk:
            _compare_nodes(session, computed, report)
            computed.clear()
    rows.close()
    if index != end and gap is None:
        gap = (index, end)
    _compare_nodes(session, computed, report)
    return Span(
        problems=[(p.where, p.problem) for p in report.problems],
        count=report.count,
        stack=stack,
        stacks_at=stacks_at,
        states=replay.states,
        last_seq=last_seq,
        gap=gap,
        leaves=index - start,
    )


def _merge(
    session: Session,
    spans: Iterable[Span],
    ranges: Sequence[tuple[int, int]],
    checkpoints: Sequence[LedgerCheckpoint],
    verifier: Verifier,
    report: _Report,
    replay: _Replay,
    progress: Progress | None,
) -> tuple[int, int]:
    """Join the spans in order: the tree above them, every checkpoint against it, the replay.
    Returns (leaves verified, seq of the last leaf's event)."""
    by_size = {cp.tree_size: cp for cp in checkpoints}
    if 0 in by_size:
        _check_checkpoint(by_size.pop(0), merkle.EMPTY_ROOT, verifier, report)
    top: list[tuple[int, int, bytes]] = []  # (level, idx, hash): the tree's right edge so far
    above: dict[merkle.Key, bytes] = {}
    leaves = last_seq = 0
    for (start, _end), sp in zip(ranges, spans, strict=False):
        for where, problem in sp.problems:
            report.add(where, problem)
        report.count += sp.count - len(sp.problems)
        replay.states.update(sp.states)
        last_seq = sp.last_seq or last_seq
        edge = [(level, h) for level, _, h in top]
        for n, local in sp.stacks_at.items():
            _check_checkpoint(by_size.pop(n), _fold(edge + local), verifier, report)
        offset = start
        for level, h in sp.stack:
            _push_node(top, above, level, offset >> level, h)
            offset += 1 << level
        leaves += sp.leaves
        if progress:
            progress("leaves", leaves)
        if sp.gap is not None:
            report.add(
                f"ledger_leaves idx={sp.gap[0]}", f"leaves jump from {sp.gap[0]} to {sp.gap[1]}"
            )
            break
    _compare_nodes(session, above, report)
    for cp in sorted(by_size.values(), key=lambda c: c.tree_size):
        report.add(
            f"ledger_checkpoints tree_size={cp.tree_size}",
            f"checkpoint is beyond the {leaves} stored leaves",
        )
    return leaves, last_seq


def _push_node(
    top: list[tuple[int, int, bytes]],
    computed: dict[merkle.Key, bytes],
    level: int,
    idx: int,
    h: bytes,
) -> None:
    top.append((level, idx, h))
    while len(top) >= 2 and top[-1][0] == top[-2][0]:
        lv, _, right = top.pop()
        _, left_idx, left = top.pop()
        parent = merkle.node_hash(left, right)
        top.append((lv + 1, left_idx >> 1, parent))
        computed[(lv + 1, left_idx >> 1)] = parent


# The worker processes of a parallel audit: one engine each, made once.
_worker: dict[str, Any] = {}


def _worker_start(database_url: str, secret: str) -> None:
    from shulian.core.db import make_engine, make_sessionmaker

    engine = make_engine(database_url)
    _worker["factory"] = make_sessionmaker(engine, readonly=True)
    _worker["pseudonyms"] = leaf_codec.Pseudonymizer(secret)


def _worker_span(start: int, end: int, sizes: Sequence[int], chunk: int) -> Span:
    from shulian.core.db import session_scope

    with session_scope(_worker["factory"]) as session:
        return _verify_span(session, _worker["pseudonyms"], start, end, sizes, chunk)


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


_LEAVES_AND_EVENTS = text(
    "SELECT l.idx, l.event_seq, l.data, l.leaf_hash, e.seq, e.type, e.occurred_at, e.actor,"
    " e.branch, e.subject, CAST(e.payload AS TEXT) FROM ledger_leaves l"
    " LEFT JOIN events e ON e.seq = l.event_seq"
    " WHERE l.idx >= :start AND l.idx < :end ORDER BY l.idx"
)


def _leaf_rows(
    session: Session, start: int, end: int, chunk: int
) -> Generator[tuple[Any, ...], None, None]:
    """Every leaf with its event, streamed as plain driver values (ten million ORM rows would
    cost more than the audit itself): the payload as its stored text, the time as the driver
    gives it (SQLite: naive UTC text; PostgreSQL: a datetime)."""
    # Options on the statement: Connection.execution_options would stick to the connection.
    stmt = _LEAVES_AND_EVENTS.execution_options(stream_results=True, yield_per=chunk)
    result = session.connection().execute(stmt, {"start": start, "end": end})
    try:
        for row in result:
            idx, event_seq, data, stored, seq, type_, at, actor, branch, subject, payload = row
            yield (idx, event_seq, bytes(data), bytes(stored), seq, type_, at, actor, branch,
                   subject, payload or "{}")  # fmt: skip
    finally:
        result.close()  # a span that stops early must not leave a server-side cursor open


def _aware(at: datetime | str) -> datetime:
    if type(at) is str:  # SQLite: naive UTC text
        return datetime.fromisoformat(at).replace(tzinfo=UTC)
    assert isinstance(at, datetime)
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def _leaf_time(at: datetime | str) -> str:
    """The leaf's timestamp text for an event's time as the driver returns it; SQLite's
    ``2026-11-21 09:30:00.000000`` is rewritten in place (ten million parses otherwise)."""
    if type(at) is str and len(at) == 26 and at[10] == " " and at[19] == ".":
        return f"{at[:10]}T{at[11:]}Z"
    return leaf_codec.timestamp(_aware(at))


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


Current = list[tuple[StateSource, list[tuple[int, str]]]]


def _current_states(
    session: Session, sources: Sequence[StateSource], progress: Progress | None
) -> Current:
    """Every audited row's digest as the tables hold it now."""
    out: Current = []
    checked = 0
    for source in sources:
        rows = []
        for row in source.rows(session):
            rows.append(row)
            checked += 1
            if progress and checked % 10_000 == 0:
                progress("rows", checked)
        out.append((source, rows))
    if progress:
        progress("rows", checked)
    return out


def _compare(replay: _Replay, current: Current, sources: Sequence[StateSource],
             report: _Report) -> int:  # fmt: skip
    states = replay.states
    checked = 0
    for source, rows in current:
        prefix = source.prefix + ":"
        for rid, digest in rows:
            checked += 1
            last = states.pop(prefix + str(rid), None)
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
