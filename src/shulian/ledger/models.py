"""Tables of the ledger. Leaves, nodes and checkpoints are append-only and never updated; the
witnessing tables (peers, witnesses, cosignatures, split views) and audit runs sit beside them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from shulian.core.db import Base, UTCDateTime

Big = BigInteger().with_variant(Integer(), "sqlite")


class LedgerLeaf(Base):
    """Leaf ``idx`` (0-based) of the tree: the canonical encoding of event ``event_seq``."""

    __tablename__ = "ledger_leaves"

    idx: Mapped[int] = mapped_column(Big, primary_key=True, autoincrement=False)
    event_seq: Mapped[int] = mapped_column(Big, unique=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LedgerNode(Base):
    """A perfect subtree above the leaves: ``2**level`` leaves from ``idx << level``."""

    __tablename__ = "ledger_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(Big, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LedgerCheckpoint(Base):
    """A signed checkpoint (C2SP signed note): origin, tree size, root hash, signature."""

    __tablename__ = "ledger_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    tree_size: Mapped[int] = mapped_column(Big, unique=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LedgerAudit(Base):
    """One run of ``ledger verify`` (from the command line or the staff page) and what it found;
    the staff ledger page shows the last one."""

    __tablename__ = "ledger_audits"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ok: Mapped[bool | None] = mapped_column(Boolean, nullable=True)  # None while it runs
    leaves: Mapped[int] = mapped_column(Big, default=0)
    checkpoints: Mapped[int] = mapped_column(Integer, default=0)
    rows_checked: Mapped[int] = mapped_column(Big, default=0)
    problem_count: Mapped[int] = mapped_column(Integer, default=0)
    # The first problems found, as [{"where": .., "problem": ..}]; problem_count has them all.
    problems: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    started_by: Mapped[str] = mapped_column(String(120))


class LedgerPeer(Base):
    """Another library's log that this library witnesses: its key and the last checkpoint seen
    from it, which every later checkpoint must be consistent with."""

    __tablename__ = "ledger_peers"

    id: Mapped[int] = mapped_column(primary_key=True)
    origin: Mapped[str] = mapped_column(String(200), unique=True)
    url: Mapped[str] = mapped_column(String(500))
    vkey: Mapped[str] = mapped_column(String(300))
    last_size: Mapped[int | None] = mapped_column(Big, nullable=True)
    last_root: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True)
    last_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class LedgerWitness(Base):
    """A witness whose cosignatures on this library's checkpoints are accepted."""

    __tablename__ = "ledger_witnesses"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    vkey: Mapped[str] = mapped_column(String(300))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LedgerCosignature(Base):
    """A cosignature this library holds: by a witness on one of our checkpoints (origin is ours),
    or by us on a peer's checkpoint (origin is the peer's). ``line`` is the C2SP signature line."""

    __tablename__ = "ledger_cosignatures"
    __table_args__ = (UniqueConstraint("origin", "tree_size", "witness"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    origin: Mapped[str] = mapped_column(String(200), index=True)
    tree_size: Mapped[int] = mapped_column(Big)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    witness: Mapped[str] = mapped_column(String(200))
    timestamp: Mapped[int] = mapped_column(Big)  # the cosignature's own time, Unix seconds
    line: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LedgerSplitView(Base):
    """Evidence that a log showed two different trees: two checkpoints it signed that cannot
    both be true (same size and different roots, or a later one not consistent with an earlier
    one). Kept for ever; the staff ledger page and ``ledger witness`` report them."""

    __tablename__ = "ledger_split_views"

    id: Mapped[int] = mapped_column(primary_key=True)
    origin: Mapped[str] = mapped_column(String(200), index=True)
    reason: Mapped[str] = mapped_column(Text)
    note_a: Mapped[str] = mapped_column(Text)
    note_b: Mapped[str] = mapped_column(Text)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime())
