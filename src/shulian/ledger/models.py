"""Tables of the ledger. Leaves and nodes are append-only; nothing here is ever updated."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, LargeBinary, SmallInteger, Text
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
