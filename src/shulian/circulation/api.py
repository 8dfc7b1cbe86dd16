"""HTTP API of circulation.

Desk staff (``circulation.desk``) lend, take back and renew, place holds for readers and work
the hold shelf, pick lists and transits; ``circulation.fines.manage`` takes payments and waives;
``circulation.rules.manage`` edits the rules matrix. Readers reach their own account under
``/me``: loans, renewals, holds, history and preferences. Any staff may ask which rule applies
(explain).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel, Field, model_validator
from sqlalchemy.orm import Session

from shulian.accounts import service as accounts_service
from shulian.circulation import service
from shulian.circulation.schemas import (
    AccountRead,
    CheckinRead,
    ExplainRead,
    FineRead,
    HistoryRead,
    HoldCreate,
    HoldRead,
    HoldShelfRead,
    ItemCirculationRead,
    LoanRead,
    OptionRead,
    PaymentCreate,
    PickRead,
    PreferencesRead,
    PreferencesUpdate,
    RenewAllRead,
    RuleFields,
    RuleRead,
    TransitRead,
)
from shulian.core.bounds import Id
from shulian.core.deps import (
    CurrentReader,
    NowDep,
    PermissionDenied,
    SessionDep,
    StaffUser,
    require,
)
from shulian.core.errors import BadRequest
from shulian.core.security import Principal
from shulian.ledger.schemas import EventReceipt

router = APIRouter(prefix="/api/v1/circulation", tags=["circulation"])
Desk = Annotated[Principal, require("circulation.desk")]
FinesManager = Annotated[Principal, require("circulation.fines.manage")]
RulesManager = Annotated[Principal, require("circulation.rules.manage")]
Barcode = Annotated[str, Path(min_length=1, max_length=64)]
BranchCode = Annotated[str, Path(min_length=1, max_length=32)]
READ_READERS = "accounts.reader.read"


class BranchNeeded(BadRequest):
    def __init__(self) -> None:
        super().__init__("Say which branch this happens at (your account has no branch)")


class ReaderNeeded(BadRequest):
    def __init__(self) -> None:
        super().__init__("Give the reader's card number or id")


class CheckoutCreate(BaseModel):
    barcode: str = Field(min_length=1, max_length=64)
    card: str | None = Field(default=None, max_length=32)
    reader_id: Id | None = None
    branch: str | None = Field(default=None, max_length=32)

    @model_validator(mode="after")
    def _reader(self) -> CheckoutCreate:
        if self.card is None and self.reader_id is None:
            raise ValueError("give the reader's card or reader_id")
        return self


class CheckinCreate(BaseModel):
    barcode: str = Field(min_length=1, max_length=64)
    branch: str | None = Field(default=None, max_length=32)


class RenewalCreate(BaseModel):
    barcode: str = Field(min_length=1, max_length=64)
    card: str | None = Field(default=None, max_length=32)
    reader_id: Id | None = None


class WaiverCreate(BaseModel):
    amount_cents: int | None = Field(default=None, gt=0, le=10_000_000)  # None: all of it
    note: str = Field(default="", max_length=400)


class OptionUpdate(BaseModel):
    value: str = Field(min_length=1, max_length=200)


class TransitTimeUpdate(BaseModel):
    from_branch: str = Field(min_length=1, max_length=32)
    to_branch: str = Field(min_length=1, max_length=32)
    hours: int = Field(ge=0, le=24 * 60)


def _branch(who: Principal, given: str | None) -> str:
    branch = given or who.branch_code
    if not branch:
        raise BranchNeeded()
    return branch


def _reader_id(session: Session, card: str | None, reader_id: int | None) -> int:
    if reader_id is not None:
        return accounts_service.get_reader(session, reader_id).id
    if card:
        return accounts_service.find_reader_by_card(session, card).id
    raise ReaderNeeded()


# -- the desk -------------------------------------------------------------------------------------


@router.post("/checkouts", response_model=LoanRead, status_code=status.HTTP_201_CREATED)
def check_out(body: CheckoutCreate, session: SessionDep, now: NowDep, who: Desk) -> LoanRead:
    return service.check_out(
        session,
        reader_id=_reader_id(session, body.card, body.reader_id),
        barcode=body.barcode,
        branch=_branch(who, body.branch),
        actor=who.actor,
        now=now,
    )


@router.post("/checkins", response_model=CheckinRead)
def check_in(body: CheckinCreate, session: SessionDep, now: NowDep, who: Desk) -> CheckinRead:
    return service.check_in(
        session, barcode=body.barcode, branch=_branch(who, body.branch), actor=who.actor, now=now
    )


@router.post("/renewals", response_model=LoanRead)
def renew(body: RenewalCreate, session: SessionDep, now: NowDep, who: Desk) -> LoanRead:
    return service.renew(
        session,
        reader_id=_reader_id(session, body.card, body.reader_id),
        barcode=body.barcode,
        actor=who.actor,
        now=now,
    )


@router.get("/items/{barcode}", response_model=ItemCirculationRead)
def item_status(
    barcode: Barcode, session: SessionDep, now: NowDep, who: Desk
) -> ItemCirculationRead:
    return service.item_status(session, barcode=barcode, now=now)


@router.get("/readers/{reader_id}", response_model=AccountRead)
def reader_account(reader_id: Id, session: SessionDep, now: NowDep, who: Desk) -> AccountRead:
    return service.reader_account(session, reader_id=reader_id, now=now)


@router.post("/holds", response_model=HoldRead, status_code=status.HTTP_201_CREATED)
def place_hold_for(body: HoldCreate, session: SessionDep, now: NowDep, who: Desk) -> HoldRead:
    if body.reader_id is None:
        raise ReaderNeeded()
    return service.place_hold(
        session,
        reader_id=body.reader_id,
        record_id=body.record_id,
        barcode=body.barcode,
        pickup_branch=body.pickup_branch,
        actor=who.actor,
        now=now,
    )


@router.delete("/holds/{hold_id}", response_model=HoldRead)
def cancel_hold_for(hold_id: Id, session: SessionDep, now: NowDep, who: Desk) -> HoldRead:
    return service.cancel_hold(session, hold_id=hold_id, reader_id=None, actor=who.actor, now=now)


@router.get("/branches/{code}/pick-list", response_model=list[PickRead])
def pick_list(code: BranchCode, session: SessionDep, now: NowDep, who: Desk) -> list[PickRead]:
    return service.pick_list(session, branch=code.upper(), now=now)


@router.get("/branches/{code}/hold-shelf", response_model=list[HoldShelfRead])
def hold_shelf(code: BranchCode, session: SessionDep, who: Desk) -> list[HoldShelfRead]:
    return service.hold_shelf(session, branch=code.upper())


@router.get("/branches/{code}/transits", response_model=list[TransitRead])
def transits(
    code: BranchCode,
    session: SessionDep,
    who: Desk,
    direction: Annotated[str, Query(pattern="^(incoming|outgoing)$")] = "incoming",
) -> list[TransitRead]:
    return service.transits(session, branch=code.upper(), direction=direction)


# -- fines ----------------------------------------------------------------------------------------


@router.post("/readers/{reader_id}/payments", response_model=AccountRead)
def pay(
    reader_id: Id, body: PaymentCreate, session: SessionDep, now: NowDep, who: FinesManager
) -> AccountRead:
    service.pay(
        session,
        reader_id=reader_id,
        amount_cents=body.amount_cents,
        actor=who.actor,
        now=now,
        note=body.note,
    )
    return service.reader_account(session, reader_id=reader_id, now=now)


@router.post("/fines/{fine_id}/waive", response_model=FineRead)
def waive(
    fine_id: Id, body: WaiverCreate, session: SessionDep, now: NowDep, who: FinesManager
) -> FineRead:
    return service.waive(
        session,
        fine_id=fine_id,
        amount_cents=body.amount_cents,
        actor=who.actor,
        now=now,
        note=body.note,
    )


# -- rules ----------------------------------------------------------------------------------------


@router.get("/rules", response_model=list[RuleRead])
def list_rules(session: SessionDep, who: StaffUser) -> list[RuleRead]:
    """The rules matrix, most specific first."""
    return service.list_rules(session)


@router.post("/rules", response_model=RuleRead, status_code=status.HTTP_201_CREATED)
def create_rule(body: RuleFields, session: SessionDep, now: NowDep, who: RulesManager) -> RuleRead:
    return service.create_rule(session, data=body, actor=who.actor, now=now)


@router.put("/rules/{rule_id}", response_model=RuleRead)
def update_rule(
    rule_id: Id, body: RuleFields, session: SessionDep, now: NowDep, who: RulesManager
) -> RuleRead:
    return service.update_rule(session, rule_id=rule_id, data=body, actor=who.actor, now=now)


@router.delete("/rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_rule(rule_id: Id, session: SessionDep, now: NowDep, who: RulesManager) -> Response:
    service.delete_rule(session, rule_id=rule_id, actor=who.actor, now=now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/explain", response_model=ExplainRead)
def explain(
    session: SessionDep,
    who: StaffUser,
    branch: Annotated[str, Query(min_length=1, max_length=32)],
    reader_category: Annotated[str | None, Query(max_length=32)] = None,
    item_type: Annotated[str | None, Query(max_length=32)] = None,
    card: Annotated[str | None, Query(max_length=32)] = None,
    barcode: Annotated[str | None, Query(max_length=64)] = None,
) -> ExplainRead:
    """Which rule applies to a reader category (or a reader's card) + item type (or an item's
    barcode) + branch, and why each other rule does not. A card needs ``accounts.reader.read``:
    the answer tells whether the card exists and the reader's category."""
    if card and not who.can(READ_READERS):
        raise PermissionDenied(READ_READERS)
    if card:
        reader_category = accounts_service.find_reader_by_card(session, card).category_code
    if barcode:
        item_type = service.item_status(session, barcode=barcode).item_type
    if not reader_category:
        raise ReaderNeeded()
    return service.explain(
        session, reader_category=reader_category, item_type=item_type, branch=branch
    )


@router.get("/options", response_model=list[OptionRead])
def list_options(session: SessionDep, who: StaffUser) -> list[OptionRead]:
    return service.list_options(session)


@router.put("/options/{name}", response_model=OptionRead)
def set_option(
    name: Annotated[str, Path(max_length=64)],
    body: OptionUpdate,
    session: SessionDep,
    now: NowDep,
    who: RulesManager,
) -> OptionRead:
    return service.set_option(session, name=name, value=body.value, actor=who.actor, now=now)


@router.put("/transit-times", status_code=status.HTTP_204_NO_CONTENT)
def set_transit_time(
    body: TransitTimeUpdate, session: SessionDep, now: NowDep, who: RulesManager
) -> Response:
    service.set_transit_time(
        session,
        from_branch=body.from_branch,
        to_branch=body.to_branch,
        hours=body.hours,
        actor=who.actor,
        now=now,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- the reader's own account ---------------------------------------------------------------------


@router.get("/me", response_model=AccountRead)
def my_account(session: SessionDep, now: NowDep, who: CurrentReader) -> AccountRead:
    return service.reader_account(session, reader_id=who.id, now=now)


@router.post("/me/loans/{barcode}/renew", response_model=LoanRead)
def my_renew(barcode: Barcode, session: SessionDep, now: NowDep, who: CurrentReader) -> LoanRead:
    return service.renew(session, reader_id=who.id, barcode=barcode, actor=who.actor, now=now)


@router.get("/me/loans/{loan_id}/receipt", response_model=EventReceipt)
def my_loan_receipt(loan_id: Id, session: SessionDep, who: CurrentReader) -> EventReceipt:
    """The loan's receipt from the ledger (once a checkpoint covers it: a few seconds)."""
    return service.loan_receipt(session, loan_id=loan_id, reader_id=who.id)


@router.post("/me/renew-all", response_model=RenewAllRead)
def my_renew_all(session: SessionDep, now: NowDep, who: CurrentReader) -> RenewAllRead:
    return service.renew_all(session, reader_id=who.id, actor=who.actor, now=now)


@router.post("/me/holds", response_model=HoldRead, status_code=status.HTTP_201_CREATED)
def my_hold(body: HoldCreate, session: SessionDep, now: NowDep, who: CurrentReader) -> HoldRead:
    return service.place_hold(
        session,
        reader_id=who.id,
        record_id=body.record_id,
        barcode=body.barcode,
        pickup_branch=body.pickup_branch,
        actor=who.actor,
        now=now,
    )


@router.delete("/me/holds/{hold_id}", response_model=HoldRead)
def my_cancel(hold_id: Id, session: SessionDep, now: NowDep, who: CurrentReader) -> HoldRead:
    return service.cancel_hold(session, hold_id=hold_id, reader_id=who.id, actor=who.actor, now=now)


@router.get("/me/history", response_model=HistoryRead)
def my_history(session: SessionDep, now: NowDep, who: CurrentReader) -> HistoryRead:
    return service.reading_history(session, reader_id=who.id, now=now)


@router.put("/me/preferences", response_model=PreferencesRead)
def my_preferences(
    body: PreferencesUpdate, session: SessionDep, now: NowDep, who: CurrentReader
) -> PreferencesRead:
    return service.set_preferences(session, reader_id=who.id, data=body, actor=who.actor, now=now)
