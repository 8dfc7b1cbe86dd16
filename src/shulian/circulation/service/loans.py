"""Checkout, checkin (return anywhere), renewal, and what a copy's circulation state is."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shulian.accounts import service as accounts_service
from shulian.catalog import service as catalog_service
from shulian.catalog.schemas import ItemStatus
from shulian.circulation import policy
from shulian.circulation.errors import (
    AlreadyOnLoan,
    ItemNotLoanable,
    ItemOnHoldForAnother,
    ItemUnavailable,
    LoanLimitReached,
    NotOnLoan,
    NotYourLoan,
    RenewalBlockedByHolds,
    RenewalLimitReached,
    TypeLoanLimitReached,
)
from shulian.circulation.models import Hold, Loan
from shulian.circulation.schemas import (
    CheckinRead,
    ItemCirculationRead,
    LoanRead,
    RefusalRead,
    RenewAllRead,
)
from shulian.circulation.service import fines, holds
from shulian.circulation.service.common import (
    check_standing,
    emit,
    item_claims,
    library_tz,
    loan_read,
    loan_state,
    open_loan_of_item,
    open_loans,
    open_transit,
    reader_load,
    reader_ref,
)
from shulian.circulation.types import HoldStatus
from shulian.consortium import service as consortium_service
from shulian.core.errors import ShulianError


def check_out(
    session: Session, *, reader_id: int, barcode: str, branch: str, actor: str, now: datetime
) -> LoanRead:
    """Lend a copy. The rule for the reader's category, the item's type and this branch is
    frozen into the loan as its contract; the due day skips the branch's closed days.

    Raises: ReaderNotFound, ItemNotFound, BranchNotFound, NoRuleApplies, ItemNotLoanable,
    ReaderBlocked, CardExpired, FinesOverLimit, AlreadyOnLoan, ItemOnHoldForAnother,
    ItemUnavailable, LoanLimitReached, TypeLoanLimitReached.
    """
    reader = accounts_service.get_reader(session, reader_id)
    branch = consortium_service.get_branch_by_code(session, branch).code
    item = catalog_service.lock_item(session, barcode)
    rule = policy.applicable(
        session, category=reader.category_code, item_type=item.item_type, branch=branch
    )
    terms = policy.Terms.of(rule)
    if not terms.loanable:
        raise ItemNotLoanable(item.barcode)
    load = reader_load(session, reader_id=reader_id, item_type=item.item_type)
    check_standing(
        session,
        reader_id=reader_id,
        max_fines_cents=terms.max_fines_cents,
        now=now,
        owed=load.owed,
    )
    claims = item_claims(session, item_id=item.id, reader_id=reader_id)
    if claims.on_loan:
        raise AlreadyOnLoan(item.barcode)
    if item.status is ItemStatus.ON_HOLD_SHELF:
        ready = session.scalars(
            select(Hold).where(Hold.trapped_item_id == item.id, Hold.status == HoldStatus.READY)
        ).first()
        if ready is not None and ready.reader_id != reader_id:
            raise ItemOnHoldForAnother(item.barcode)
    elif item.status is not ItemStatus.AVAILABLE:
        raise ItemUnavailable(item.barcode, item.status.value)
    if claims.held_for_another:
        raise ItemOnHoldForAnother(item.barcode)
    if load.loans >= terms.max_loans:
        raise LoanLimitReached(terms.max_loans)
    if terms.max_loans_of_type is not None and load.loans_of_type >= terms.max_loans_of_type:
        raise TypeLoanLimitReached(terms.max_loans_of_type, item.item_type)
    tz = library_tz(session)
    loan = Loan(
        item_id=item.id,
        record_id=item.record_id,
        reader_id=reader_id,
        branch_code=branch,
        item_type=item.item_type,
        rule_id=rule.id,
        terms=terms.to_json(),
        out_at=now,
        due_at=policy.due_at(
            session, start=now, days=terms.loan_days, hours=terms.loan_hours, branch=branch, tz=tz
        ),
        renewals=0,
        version=1,
    )
    session.add(loan)
    session.flush()
    holds.fulfil(session, reader_id=reader_id, record_id=item.record_id, actor=actor, now=now)
    item_digest = catalog_service.set_item_status(session, item, ItemStatus.ON_LOAN, now=now)
    loan.event_seq = emit(
        session,
        type="circulation.loan.checked_out",
        now=now,
        actor=actor,
        branch=branch,
        subject=f"loan:{loan.id}",
        payload={
            "loan": loan.id,
            "item": item.id,
            "record": item.record_id,
            "reader": reader_ref(reader_id),
            "due": loan.due_at.isoformat(),
            "terms": loan.terms,
            "states": {f"loan:{loan.id}": loan_state(loan), f"item:{item.id}": item_digest},
        },
    )
    title = catalog_service.title_of(session, item.record_id)
    return loan_read(loan, barcode=item.barcode, title=title, now=now)


def check_in(
    session: Session, *, barcode: str, branch: str, actor: str, now: datetime
) -> CheckinRead:
    """Take a copy back at any branch (通借通还). The loan closes with its overdue fine (by its
    contract); an open transit ends here; then the copy goes to the first hold it can fill (the
    hold shelf here or transit to the pickup branch), else home in transit, else to the shelf.
    Scanning a copy that is not on loan (pulled for a pick list, arrived in transit) routes it
    the same way.

    Raises: ItemNotFound, BranchNotFound."""
    branch = consortium_service.get_branch_by_code(session, branch).code
    item = catalog_service.lock_item(session, barcode)
    loan = open_loan_of_item(session, item.id)
    fine_cents = 0
    states: dict[str, str] = {}
    if loan is not None:
        loan.returned_at = now
        loan.return_branch = branch
        loan.version += 1
        session.flush()
        fine_cents = fines.settle_overdue(session, loan, now=now, actor=actor)
        states[f"loan:{loan.id}"] = loan_state(loan)
    transit = open_transit(session, item.id)
    if transit is not None:
        transit.received_at = now
        if transit.hold_id is not None:
            # The hold it travelled for waits again if it is still open (re-trapped below).
            hold = session.get(Hold, transit.hold_id)
            if hold is not None and hold.status is HoldStatus.IN_TRANSIT:
                hold.status = HoldStatus.WAITING
                hold.trapped_item_id = None
        session.flush()
    destination, to_branch, hold_id = holds.route(
        session, item, at_branch=branch, actor=actor, now=now
    )
    states[f"item:{item.id}"] = catalog_service.item_state(item)
    emit(
        session,
        type="circulation.item.checked_in",
        now=now,
        actor=actor,
        branch=branch,
        subject=f"item:{item.id}",
        payload={
            "item": item.id,
            "record": item.record_id,
            "loan": loan.id if loan else None,
            "reader": reader_ref(loan.reader_id) if loan else None,
            "transit": transit.id if transit else None,
            "destination": destination,
            "to": to_branch,
            "hold": hold_id,
            "fine": fine_cents,
            "states": states,
        },
    )
    title = catalog_service.title_of(session, item.record_id)
    return CheckinRead(
        barcode=item.barcode,
        title=title,
        record_id=item.record_id,
        loan=loan_read(loan, barcode=item.barcode, title=title, now=now, fine_cents=fine_cents)
        if loan
        else None,
        destination=destination,
        to_branch=to_branch,
        hold_id=hold_id,
        fine_cents=fine_cents,
        location=catalog_service.location_text(item),
    )


def renew(session: Session, *, reader_id: int, barcode: str, actor: str, now: datetime) -> LoanRead:
    """Extend a loan by its contract's renewal period, counted from today (never shortening it).

    Raises: ItemNotFound, NotOnLoan, NotYourLoan, ReaderBlocked, CardExpired, FinesOverLimit,
    RenewalLimitReached, RenewalBlockedByHolds."""
    item = catalog_service.lock_item(session, barcode)
    loan = open_loan_of_item(session, item.id)
    if loan is None:
        raise NotOnLoan(item.barcode)
    if loan.reader_id != reader_id:
        raise NotYourLoan(item.barcode)
    terms = policy.Terms.from_json(loan.terms)
    check_standing(session, reader_id=reader_id, max_fines_cents=terms.max_fines_cents, now=now)
    if loan.renewals >= terms.renewals:
        raise RenewalLimitReached(item.barcode, loan.renewals)
    if terms.holds_block_renewal and holds.waiting_for(session, item) > 0:
        raise RenewalBlockedByHolds(item.barcode)
    due = policy.due_at(
        session,
        start=now,
        days=terms.renewal_days,
        hours=terms.loan_hours,
        branch=loan.branch_code,
        tz=library_tz(session),
    )
    loan.due_at = max(due, loan.due_at)
    loan.renewals += 1
    loan.version += 1
    session.flush()
    emit(
        session,
        type="circulation.loan.renewed",
        now=now,
        actor=actor,
        branch=loan.branch_code,
        subject=f"loan:{loan.id}",
        payload={
            "loan": loan.id,
            "item": item.id,
            "record": item.record_id,
            "reader": reader_ref(reader_id),
            "due": loan.due_at.isoformat(),
            "renewals": loan.renewals,
            "states": {f"loan:{loan.id}": loan_state(loan)},
        },
    )
    title = catalog_service.title_of(session, item.record_id)
    return loan_read(loan, barcode=item.barcode, title=title, now=now)


def renew_all(session: Session, *, reader_id: int, actor: str, now: datetime) -> RenewAllRead:
    """Renew every loan that may be renewed; each refusal is reported, none stops the rest."""
    accounts_service.get_reader(session, reader_id)
    loans = open_loans(session, reader_id)
    items = catalog_service.items_by_id(session, [ln.item_id for ln in loans])
    renewed, refused = [], []
    for ln in loans:
        barcode = items[ln.item_id].barcode
        try:
            with session.begin_nested():
                renewed.append(
                    renew(session, reader_id=reader_id, barcode=barcode, actor=actor, now=now)
                )
        except ShulianError as exc:
            refused.append(RefusalRead(barcode=barcode, error=exc.code, detail=exc.detail))
    return RenewAllRead(renewed=renewed, refused=refused)


def item_status(
    session: Session, *, barcode: str, now: datetime | None = None
) -> ItemCirculationRead:
    """A copy's circulation state: where it is, when it is due, how many wait for it.

    Raises: ItemNotFound."""
    item = catalog_service.get_item(session, barcode)
    loan = open_loan_of_item(session, item.id)
    transit = open_transit(session, item.id)
    title = catalog_service.title_of(session, item.record_id)
    del now
    return ItemCirculationRead(
        barcode=item.barcode,
        record_id=item.record_id,
        title=title,
        item_type=item.item_type,
        status=item.status.value,
        branch=item.branch_code,
        location=catalog_service.location_text(item),
        due_at=loan.due_at if loan else None,
        holds_waiting=holds.waiting_for(session, item),
        transit_to=transit.to_branch if transit else None,
        transit_reason=transit.reason if transit else None,
    )
