"""Operations of the ledger. Callers own the transaction, except ``catch_up``, which is a spine
consumer and commits batch by batch through ``consume_batches``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from shulian.core.events import Event, Horizon, consume_batches
from shulian.ledger import leaf as leaf_codec, merkle
from shulian.ledger.errors import (
    EventNotInLedger,
    InvalidProofRequest,
    LeafNotFound,
    LedgerCorrupt,
    NotYetCheckpointed,
)
from shulian.ledger.models import LedgerCheckpoint, LedgerLeaf, LedgerNode
from shulian.ledger.note import Checkpoint, Signer, Verifier
from shulian.ledger.schemas import (
    AuditReport,
    CheckpointRead,
    ConsistencyProofRead,
    EventReceipt,
    InclusionProofRead,
    LeafRead,
)

CONSUMER = "ledger"


class DatabaseNodes:
    """Perfect-subtree hashes from the ledger's tables, in one round trip.

    ``also`` names keys to fetch in the same round trip as the first request (a proof's own
    leaf): they are kept in ``fetched`` and not required to exist."""

    def __init__(self, session: Session, *, also: Iterable[merkle.Key] = ()) -> None:
        self.session = session
        self.also = set(also)
        self.fetched: dict[merkle.Key, bytes] = {}

    def perfect_hashes(self, keys: Iterable[merkle.Key]) -> Mapping[merkle.Key, bytes]:
        keys = set(keys)
        wanted = keys | self.also
        self.also = set()
        leaves = sorted(i for level, i in wanted if level == 0)
        inner = sorted(k for k in wanted if k[0] > 0)
        # (level = ? AND idx = ?) OR ...: SQLite answers a row-value IN with a full scan of the
        # nodes, but each OR term with a primary-key lookup (PostgreSQL does both well). Written
        # as driver SQL: an expression of a different length each time would cost SQLAlchemy a
        # fresh compile per proof, most of a proof's time.
        conn = self.session.connection()
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        out: dict[merkle.Key, bytes] = {}
        batches = [inner[i : i + 200] for i in range(0, len(inner), 200)] or [[]]
        for n, part in enumerate(batches):
            selects, params = [], []
            if n == 0 and leaves:  # the leaves ride along with the first batch of nodes
                marks = ", ".join([mark] * len(leaves))
                selects.append(
                    f"SELECT 0, idx, leaf_hash FROM ledger_leaves WHERE idx IN ({marks})"  # noqa: S608
                )
                params.extend(leaves)
            if part:
                where = " OR ".join([f"(level = {mark} AND idx = {mark})"] * len(part))
                selects.append(f"SELECT level, idx, hash FROM ledger_nodes WHERE {where}")  # noqa: S608
                params.extend(v for key in part for v in key)
            if selects:
                rows = conn.exec_driver_sql(" UNION ALL ".join(selects), tuple(params))
                out.update(((level, idx), bytes(h)) for level, idx, h in rows)
        missing = keys - out.keys()
        if missing:
            raise LedgerCorrupt(f"missing subtree hashes {sorted(missing)[:3]}")
        self.fetched.update(out)
        return {k: out[k] for k in keys}


def tree_size(session: Session) -> int:
    last = session.scalar(select(func.max(LedgerLeaf.idx)))
    return 0 if last is None else last + 1


def root_hash(session: Session, size: int) -> bytes:
    return merkle.root_of(DatabaseNodes(session), size)


# --- appending ---------------------------------------------------------------------------


def _frontier(session: Session, size: int) -> list[tuple[int, bytes]]:
    """The right edge of the tree of ``size`` leaves: its perfect subtrees, largest first."""
    keys = merkle.range_keys(0, size)
    nodes = DatabaseNodes(session).perfect_hashes(keys)
    return [(level, nodes[(level, idx)]) for level, idx in keys]


def _push_leaf(
    stack: list[tuple[int, bytes]], index: int, leaf_hash: bytes
) -> list[tuple[int, int, bytes]]:
    """Add leaf ``index`` to the right edge ``stack``; returns the (level, idx, hash) of every
    perfect subtree it completes."""
    completed = []
    stack.append((0, leaf_hash))
    while len(stack) >= 2 and stack[-1][0] == stack[-2][0]:
        level, right = stack.pop()
        _, left = stack.pop()
        parent = merkle.node_hash(left, right)
        stack.append((level + 1, parent))
        completed.append((level + 1, ((index + 1) >> (level + 1)) - 1, parent))
    return completed


def append_events(
    session: Session, events: Sequence[Event], pseudonyms: leaf_codec.Pseudonymizer
) -> int:
    """Append ``events`` as the next leaves, with every perfect subtree they complete."""
    size = tree_size(session)
    stack = _frontier(session, size)
    leaves: list[dict[str, object]] = []
    nodes: list[dict[str, object]] = []
    for ev in events:
        data = leaf_codec.encode(ev, pseudonyms)
        h = merkle.leaf_hash(data)
        leaves.append({"idx": size, "event_seq": ev.seq, "data": data, "leaf_hash": h})
        nodes.extend(
            {"level": level, "idx": idx, "hash": parent}
            for level, idx, parent in _push_leaf(stack, size, h)
        )
        size += 1
    if leaves:
        session.execute(insert(LedgerLeaf), leaves)
    if nodes:
        session.execute(insert(LedgerNode), nodes)
    return len(leaves)


def catch_up(
    factory: sessionmaker[Session],
    *,
    secret: str,
    now: datetime,
    batch_size: int = 2000,
    max_batches: int | None = None,
    horizon: Horizon | None = None,
) -> int:
    """Append every event the ledger has not seen yet, up to the spine's safe horizon (or
    ``max_batches`` batches of them); safe to run in several processes. A worker passes the
    ``horizon`` it keeps between rounds. Returns how many events were appended."""
    pseudonyms = leaf_codec.Pseudonymizer(secret)
    return consume_batches(
        factory,
        CONSUMER,
        lambda session, batch: append_events(session, batch, pseudonyms),
        now=now,
        batch_size=batch_size,
        max_batches=max_batches,
        horizon=horizon,
    )


# --- checkpoints -------------------------------------------------------------------------


def latest_checkpoint(session: Session) -> LedgerCheckpoint | None:
    return session.scalars(
        select(LedgerCheckpoint).order_by(LedgerCheckpoint.tree_size.desc()).limit(1)
    ).first()


def issue_checkpoint(session: Session, *, signer: Signer, now: datetime) -> LedgerCheckpoint:
    """Sign the current tree; returns the latest checkpoint when the tree has not grown."""
    size = tree_size(session)
    latest = latest_checkpoint(session)
    if latest is not None and latest.tree_size >= size:
        return latest
    root = root_hash(session, size)
    note = signer.sign(Checkpoint(origin=signer.name, size=size, root=root).text())
    row = LedgerCheckpoint(tree_size=size, root_hash=root, note=note, issued_at=now)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another worker signed this size first
        found = latest_checkpoint(session)
        assert found is not None
        return found
    return row


def checkpoint_read(cp: LedgerCheckpoint, origin: str) -> CheckpointRead:
    return CheckpointRead(
        origin=origin,
        tree_size=cp.tree_size,
        root_hash=cp.root_hash.hex(),
        note=cp.note,
        issued_at=cp.issued_at.isoformat(),
    )


def list_checkpoints(session: Session, *, limit: int = 50) -> list[LedgerCheckpoint]:
    return list(
        session.scalars(
            select(LedgerCheckpoint).order_by(LedgerCheckpoint.tree_size.desc()).limit(limit)
        )
    )


# --- proofs ------------------------------------------------------------------------------


def leaf(session: Session, index: int) -> LeafRead:
    row = session.get(LedgerLeaf, index)
    if row is None:
        raise LeafNotFound(index, tree_size(session))
    return LeafRead(
        index=row.idx,
        event_seq=row.event_seq,
        leaf_hash=row.leaf_hash.hex(),
        data=row.data.decode(),
    )


def inclusion_proof(session: Session, *, index: int, size: int | None = None) -> InclusionProofRead:
    """The proof that leaf ``index`` is in the tree of ``size`` leaves (default: the latest
    checkpoint's). Raises: InvalidProofRequest, LeafNotFound."""
    # Three round trips in driver SQL: proofs are what the public asks for most.
    conn = session.connection()
    latest = conn.exec_driver_sql(
        "SELECT tree_size, root_hash FROM ledger_checkpoints ORDER BY tree_size DESC LIMIT 1"
    ).first()
    n = size if size is not None else (latest[0] if latest else 0)
    last = conn.exec_driver_sql("SELECT max(idx) FROM ledger_leaves").scalar()
    current = 0 if last is None else last + 1
    if index < 0 or index >= current:
        raise LeafNotFound(index, current)
    nodes = DatabaseNodes(session, also=[(0, index)])
    try:
        proof = merkle.inclusion_proof(nodes, current, index, n)
    except merkle.ProofError as exc:
        raise InvalidProofRequest(str(exc)) from None
    leaf = nodes.fetched.get((0, index))
    if leaf is None:
        row = session.get(LedgerLeaf, index)
        assert row is not None
        leaf = row.leaf_hash
    return InclusionProofRead(
        index=index,
        tree_size=n,
        leaf_hash=leaf.hex(),
        proof=[p.hex() for p in proof],
        root_hash=(bytes(latest[1]) if latest and latest[0] == n else root_hash(session, n)).hex(),
    )


def consistency_proof(session: Session, *, first: int, second: int) -> ConsistencyProofRead:
    """Raises: InvalidProofRequest (sizes out of order, zero, or beyond the tree)."""
    try:
        proof = merkle.consistency_proof(DatabaseNodes(session), tree_size(session), first, second)
    except merkle.ProofError as exc:
        raise InvalidProofRequest(str(exc)) from None
    return ConsistencyProofRead(
        first=first,
        second=second,
        first_root=root_hash(session, first).hex(),
        second_root=root_hash(session, second).hex(),
        proof=[p.hex() for p in proof],
    )


def event_receipt(session: Session, *, seq: int) -> EventReceipt:
    """A receipt for event ``seq`` against the latest checkpoint.

    Raises: EventNotInLedger (not appended yet), NotYetCheckpointed (no checkpoint covers it).
    """
    row = session.scalars(select(LedgerLeaf).where(LedgerLeaf.event_seq == seq)).first()
    if row is None:
        raise EventNotInLedger(seq)
    cp = latest_checkpoint(session)
    if cp is None or cp.tree_size <= row.idx:
        raise NotYetCheckpointed(seq)
    return EventReceipt(
        event_seq=seq,
        leaf=leaf(session, row.idx),
        proof=inclusion_proof(session, index=row.idx, size=cp.tree_size),
        checkpoint=cp.note,
    )


# --- audit -------------------------------------------------------------------------------


def verify_tree(
    session: Session,
    *,
    verifier: Verifier,
    secret: str,
    progress: Callable[[int], None] | None = None,
    chunk: int = 8192,
) -> AuditReport:
    """The ledger checked against itself and its events (``audit.verify`` without tables)."""
    from shulian.ledger import audit

    def stage(name: str, done: int) -> None:
        if progress and name == "leaves":
            progress(done)

    return audit.verify(session, verifier=verifier, secret=secret, progress=stage, chunk=chunk)
