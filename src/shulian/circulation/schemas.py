"""Shapes of loans, holds, fines, rules and the reader's account on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shulian.circulation.types import (
    FineKind as FineKind,
    HoldStatus as HoldStatus,
    TransitReason as TransitReason,
)
from shulian.core.bounds import Id


class LoanRead(BaseModel):
    id: int
    barcode: str
    record_id: int
    title: str
    branch: str
    out_at: datetime
    due_at: datetime
    renewals: int
    renewals_left: int
    overdue: bool
    returned_at: datetime | None = None
    fine_cents: int = 0  # accrued so far on this loan
    terms: dict[str, Any]
    event_seq: int | None  # the checkout event: the loan's receipt in the ledger


class CheckinRead(BaseModel):
    """What the desk does with a returned item: back to the shelf, to the hold shelf, or into
    transit to ``to_branch``."""

    barcode: str
    title: str
    record_id: int
    loan: LoanRead | None
    destination: Literal["shelf", "hold_shelf", "transit"]
    to_branch: str | None = None
    hold_id: int | None = None
    fine_cents: int = 0
    location: str = ""


class RefusalRead(BaseModel):
    barcode: str
    error: str
    detail: str


class RenewAllRead(BaseModel):
    renewed: list[LoanRead]
    refused: list[RefusalRead]


class HoldCreate(BaseModel):
    record_id: Id | None = None
    barcode: str | None = Field(default=None, max_length=64)  # a hold on this copy only
    pickup_branch: str = Field(min_length=1, max_length=32)
    reader_id: Id | None = None  # staff placing a hold for a reader

    @model_validator(mode="after")
    def _one_target(self) -> HoldCreate:
        if (self.record_id is None) == (self.barcode is None):
            raise ValueError("give either record_id (any copy) or barcode (this copy)")
        return self


class HoldRead(BaseModel):
    id: int
    record_id: int
    title: str
    barcode: str | None  # the held copy (item hold), or the trapped copy
    pickup_branch: str
    status: HoldStatus
    position: int | None  # place in the queue while waiting (1 = next)
    placed_at: datetime
    ready_at: datetime | None
    expires_at: datetime | None


class FineRead(BaseModel):
    id: int
    kind: FineKind
    loan_id: int | None
    title: str | None
    amount_cents: int
    paid_cents: int
    waived_cents: int
    owed_cents: int
    closed: bool
    created_at: datetime


class PaymentCreate(BaseModel):
    amount_cents: int = Field(gt=0, le=10_000_000)
    note: str = Field(default="", max_length=400)


class AccountRead(BaseModel):
    """A reader's "my library": loans, holds, fines, and why borrowing is refused, if it is."""

    reader_id: int
    loans: list[LoanRead]
    holds: list[HoldRead]
    fines: list[FineRead]
    balance_cents: int
    blocks: list[str]  # reasons the reader cannot borrow now; empty means they can
    keep_history: bool


class HistoryRead(BaseModel):
    loans: list[LoanRead]


class PreferencesUpdate(BaseModel):
    """Fields left out keep their value. The notice channels are the notice outbox's (also
    set at ``/api/v1/notify/me/preferences``), accepted here too."""

    keep_history: bool | None = None
    notify_email: bool | None = None
    notify_webhook: bool | None = None


class PreferencesRead(BaseModel):
    keep_history: bool
    notify_email: bool
    notify_webhook: bool


class ItemCirculationRead(BaseModel):
    barcode: str
    record_id: int
    title: str
    item_type: str
    status: str
    branch: str
    location: str
    due_at: datetime | None
    holds_waiting: int
    transit_to: str | None
    transit_reason: TransitReason | None


class RuleFields(BaseModel):
    """A row of the rules matrix; blank category, item type or branch means "any"."""

    reader_category: str | None = Field(default=None, max_length=32)
    item_type: str | None = Field(default=None, max_length=32)
    branch_code: str | None = Field(default=None, max_length=32)
    loanable: bool = True
    loan_days: int = Field(default=30, ge=0, le=3650)
    loan_hours: int | None = Field(default=None, ge=1, le=24 * 30)
    renewals: int = Field(default=1, ge=0, le=100)
    renewal_days: int = Field(default=30, ge=1, le=3650)
    max_loans: int = Field(default=10, ge=0, le=10_000)
    max_loans_of_type: int | None = Field(default=None, ge=0, le=10_000)
    max_holds: int = Field(default=5, ge=0, le=1000)
    fine_per_day_cents: int = Field(default=10, ge=0, le=1_000_000)
    fine_cap_cents: int = Field(default=1000, ge=0, le=100_000_000)
    max_fines_cents: int = Field(default=1000, ge=0, le=100_000_000)
    grace_days: int = Field(default=0, ge=0, le=365)
    holds_block_renewal: bool = True
    hold_shelf_days: int = Field(default=7, ge=1, le=365)
    note: str = Field(default="", max_length=400)


class RuleRead(RuleFields):
    model_config = ConfigDict(from_attributes=True)

    id: int
    updated_at: datetime


class CandidateRead(BaseModel):
    rule: RuleRead
    matched: bool
    reason: str


class ExplainRead(BaseModel):
    """Which rule applies to a reader category + item type + branch, and why the others don't."""

    reader_category: str
    item_type: str | None
    branch: str
    rule: RuleRead
    candidates: list[CandidateRead]
    order: str  # the documented tie-break


class OptionRead(BaseModel):
    name: str
    value: str


class TransitRead(BaseModel):
    id: int
    barcode: str
    title: str
    from_branch: str
    to_branch: str
    reason: TransitReason
    sent_at: datetime
    received_at: datetime | None


class PickRead(BaseModel):
    """One copy to pull from the shelves for a hold."""

    hold_id: int
    barcode: str
    record_id: int
    title: str
    branch: str
    location: str
    call_number: str | None
    pickup_branch: str
    placed_at: datetime


class HoldShelfRead(BaseModel):
    hold_id: int
    barcode: str
    title: str
    card_tail: str  # the last digits of the reader's card, to find the book on the shelf
    ready_at: datetime | None
    expires_at: datetime | None
