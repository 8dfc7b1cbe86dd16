"""Tables of circulation: loan rules, loans (with their frozen terms), holds, transits, fines,
and the options a library sets for circulation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from shulian.circulation.types import FineKind, HoldStatus, TransitReason
from shulian.core.db import Base, UTCDateTime, enum_column


class LoanRule(Base):
    """One row of the rules matrix. A blank (NULL) reader category, item type or branch means
    "any"; the most specific matching rule applies (see ``policy.rank``)."""

    __tablename__ = "loan_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    reader_category: Mapped[str | None] = mapped_column(String(32))
    item_type: Mapped[str | None] = mapped_column(String(32))
    branch_code: Mapped[str | None] = mapped_column(String(32))
    loanable: Mapped[bool] = mapped_column(Boolean, default=True)
    loan_days: Mapped[int] = mapped_column(Integer, default=30)
    loan_hours: Mapped[int | None] = mapped_column(Integer)  # hourly loans (reserve desk)
    renewals: Mapped[int] = mapped_column(Integer, default=1)
    renewal_days: Mapped[int] = mapped_column(Integer, default=30)
    max_loans: Mapped[int] = mapped_column(Integer, default=10)
    max_loans_of_type: Mapped[int | None] = mapped_column(Integer)
    max_holds: Mapped[int] = mapped_column(Integer, default=5)
    fine_per_day_cents: Mapped[int] = mapped_column(Integer, default=10)
    fine_cap_cents: Mapped[int] = mapped_column(Integer, default=1000)
    max_fines_cents: Mapped[int] = mapped_column(Integer, default=1000)
    grace_days: Mapped[int] = mapped_column(Integer, default=0)
    holds_block_renewal: Mapped[bool] = mapped_column(Boolean, default=True)
    hold_shelf_days: Mapped[int] = mapped_column(Integer, default=7)
    note: Mapped[str] = mapped_column(String(400), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CirculationOption(Base):
    """A library-wide circulation setting (time zone, history retention, notice lead time)."""

    __tablename__ = "circulation_options"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class TransitTime(Base):
    """Hours an item takes from one branch to another (the van's route)."""

    __tablename__ = "transit_times"
    __table_args__ = (UniqueConstraint("from_branch", "to_branch"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    from_branch: Mapped[str] = mapped_column(String(32))
    to_branch: Mapped[str] = mapped_column(String(32))
    hours: Mapped[int] = mapped_column(Integer)


class Loan(Base):
    """A loan and its contract (``terms``, frozen at checkout). ``reader_id`` is cleared some days
    after return unless the reader keeps a reading history."""

    __tablename__ = "loans"
    __table_args__ = (
        # The database's own guarantee that an item is never lent twice at once.
        Index(
            "uq_loans_open_item",
            "item_id",
            unique=True,
            sqlite_where=text("returned_at IS NULL"),
            postgresql_where=text("returned_at IS NULL"),
        ),
        Index("ix_loans_reader_open", "reader_id", "returned_at"),
        Index("ix_loans_due_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    record_id: Mapped[int] = mapped_column(Integer, index=True)
    reader_id: Mapped[int | None] = mapped_column(ForeignKey("readers.id"))
    branch_code: Mapped[str] = mapped_column(String(32))  # lending branch
    item_type: Mapped[str] = mapped_column(String(32))
    rule_id: Mapped[int | None] = mapped_column(Integer)
    terms: Mapped[dict[str, Any]] = mapped_column(JSON)
    out_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    renewals: Mapped[int] = mapped_column(Integer, default=0)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    return_branch: Mapped[str | None] = mapped_column(String(32))
    event_seq: Mapped[int | None] = mapped_column(Integer)  # the checkout event (loan receipt)
    version: Mapped[int] = mapped_column(Integer, default=1)


OPEN_HOLD_STATES = (HoldStatus.WAITING, HoldStatus.IN_TRANSIT, HoldStatus.READY)


class Hold(Base):
    """A reader's request for a title (any copy) or for one copy (``item_id``)."""

    __tablename__ = "holds"
    __table_args__ = (
        Index("ix_holds_record_status", "record_id", "status"),
        Index("ix_holds_reader_status", "reader_id", "status"),
        Index("ix_holds_trapped_item", "trapped_item_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(Integer)
    item_id: Mapped[int | None] = mapped_column(Integer)  # a hold on one specific copy
    reader_id: Mapped[int | None] = mapped_column(ForeignKey("readers.id"))
    pickup_branch: Mapped[str] = mapped_column(String(32))
    status: Mapped[HoldStatus] = mapped_column(enum_column(HoldStatus))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    trapped_item_id: Mapped[int | None] = mapped_column(Integer)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # off the hold shelf
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Transit(Base):
    """An item travelling between branches; open while ``received_at`` is empty."""

    __tablename__ = "transits"
    __table_args__ = (
        Index(
            "uq_transits_open_item",
            "item_id",
            unique=True,
            sqlite_where=text("received_at IS NULL"),
            postgresql_where=text("received_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    from_branch: Mapped[str] = mapped_column(String(32))
    to_branch: Mapped[str] = mapped_column(String(32), index=True)
    reason: Mapped[TransitReason] = mapped_column(enum_column(TransitReason))
    hold_id: Mapped[int | None] = mapped_column(Integer)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Fine(Base):
    """Money a reader owes. An overdue fine grows daily while its loan is out (``accrue``)."""

    __tablename__ = "fines"
    __table_args__ = (Index("ix_fines_reader_open", "reader_id", "closed"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reader_id: Mapped[int] = mapped_column(ForeignKey("readers.id"))
    loan_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    kind: Mapped[FineKind] = mapped_column(enum_column(FineKind))
    amount_cents: Mapped[int] = mapped_column(Integer, default=0)
    paid_cents: Mapped[int] = mapped_column(Integer, default=0)
    waived_cents: Mapped[int] = mapped_column(Integer, default=0)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class FinePayment(Base):
    """A payment or a waiver against a fine; never edited."""

    __tablename__ = "fine_payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    fine_id: Mapped[int] = mapped_column(ForeignKey("fines.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # "payment" | "waiver"
    amount_cents: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(String(400), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReaderPreference(Base):
    """A reader's circulation choices; reading history is off unless the reader turns it on."""

    __tablename__ = "reader_preferences"

    reader_id: Mapped[int] = mapped_column(ForeignKey("readers.id"), primary_key=True)
    keep_history: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
