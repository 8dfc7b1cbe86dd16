"""Fines: overdue fines by each loan's contract (closed days skipped, grace, cap), payments and
waivers. A fine is never edited away: payments and waivers are rows of their own."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shulian.accounts import service as accounts_service
from shulian.catalog import service as catalog_service
from shulian.circulation import policy
from shulian.circulation.errors import BadAmount, FineNotFound, NothingOwed
from shulian.circulation.models import Fine, FinePayment, Loan
from shulian.circulation.schemas import FineRead
from shulian.circulation.service.common import (
    emit,
    fine_state,
    library_tz,
    money,
    reader_ref,
)
from shulian.circulation.types import FineKind


def overdue_fine(session: Session, loan: Loan, *, until: datetime) -> int:
    """What the loan's contract charges for lateness up to ``until``."""
    if until <= loan.due_at:
        return 0
    terms = policy.Terms.from_json(loan.terms)
    days = policy.overdue_days(
        session, due=loan.due_at, until=until, branch=loan.branch_code, tz=library_tz(session)
    )
    return policy.fine_for(terms, days)


def _set_overdue(
    session: Session, loan: Loan, amount: int, *, actor: str, now: datetime
) -> Fine | None:
    fine = session.scalars(select(Fine).where(Fine.loan_id == loan.id)).first()
    if fine is None:
        if amount <= 0 or loan.reader_id is None:
            return None
        fine = Fine(
            reader_id=loan.reader_id,
            loan_id=loan.id,
            kind=FineKind.OVERDUE,
            amount_cents=0,
            paid_cents=0,
            waived_cents=0,
            closed=False,
            created_at=now,
            updated_at=now,
        )
        session.add(fine)
    if fine.amount_cents == amount:
        return fine
    fine.amount_cents = amount
    fine.closed = fine.paid_cents + fine.waived_cents >= amount and loan.returned_at is not None
    fine.updated_at = now
    session.flush()
    emit(
        session,
        type="circulation.fine.accrued",
        now=now,
        actor=actor,
        branch=loan.branch_code,
        subject=f"fine:{fine.id}",
        payload={
            "fine": fine.id,
            "loan": loan.id,
            "reader": reader_ref(fine.reader_id),
            "amount": amount,
            "states": {f"fine:{fine.id}": fine_state(fine)},
        },
    )
    return fine


def settle_overdue(session: Session, loan: Loan, *, now: datetime, actor: str) -> int:
    """At return: the loan's final overdue fine, in cents."""
    amount = overdue_fine(session, loan, until=now)
    fine = _set_overdue(session, loan, amount, actor=actor, now=now)
    if fine is not None and fine.amount_cents <= fine.paid_cents + fine.waived_cents:
        fine.closed = True
    return amount


def accrue_fines(session: Session, *, now: datetime, actor: str = "system") -> int:
    """Bring the fines of every overdue open loan up to date (the daily run), so a reader's
    balance, and the fine limit that blocks borrowing, is current. Returns fines changed."""
    changed = 0
    for loan in session.scalars(
        select(Loan).where(Loan.returned_at.is_(None), Loan.due_at < now).order_by(Loan.id)
    ):
        before = session.scalars(select(Fine.amount_cents).where(Fine.loan_id == loan.id)).first()
        amount = overdue_fine(session, loan, until=now)
        if amount != (before or 0):
            _set_overdue(session, loan, amount, actor=actor, now=now)
            changed += 1
    return changed


def _owed(fine: Fine) -> int:
    return fine.amount_cents - fine.paid_cents - fine.waived_cents


def _apply(
    session: Session, fine: Fine, kind: str, amount: int, *, actor: str, note: str, now: datetime
) -> None:
    if kind == "payment":
        fine.paid_cents += amount
    else:
        fine.waived_cents += amount
    loan_open = False
    if fine.loan_id is not None:
        loan = session.get(Loan, fine.loan_id)
        loan_open = loan is not None and loan.returned_at is None
    fine.closed = _owed(fine) <= 0 and not loan_open
    fine.updated_at = now
    session.add(
        FinePayment(fine_id=fine.id, kind=kind, amount_cents=amount, actor=actor, note=note, at=now)
    )
    session.flush()
    emit(
        session,
        type=f"circulation.fine.{'paid' if kind == 'payment' else 'waived'}",
        now=now,
        actor=actor,
        branch=None,
        subject=f"fine:{fine.id}",
        payload={
            "fine": fine.id,
            "reader": reader_ref(fine.reader_id),
            "amount": amount,
            "states": {f"fine:{fine.id}": fine_state(fine)},
        },
    )


def pay(
    session: Session,
    *,
    reader_id: int,
    amount_cents: int,
    actor: str,
    now: datetime,
    note: str = "",
) -> int:
    """Take a payment, settling the oldest fines first. Returns what is still owed.

    Raises: ReaderNotFound, NothingOwed, BadAmount (zero, negative, or more than is owed)."""
    accounts_service.get_reader(session, reader_id)
    open_fines = list(
        session.scalars(
            select(Fine)
            .where(Fine.reader_id == reader_id, Fine.closed.is_(False))
            .order_by(Fine.created_at, Fine.id)
        )
    )
    owed = sum(max(_owed(f), 0) for f in open_fines)
    if owed <= 0:
        raise NothingOwed()
    if amount_cents <= 0 or amount_cents > owed:
        raise BadAmount(money(amount_cents))
    left = amount_cents
    for fine in open_fines:
        part = min(left, max(_owed(fine), 0))
        if part:
            _apply(session, fine, "payment", part, actor=actor, note=note, now=now)
            left -= part
        if not left:
            break
    return owed - amount_cents


def waive(
    session: Session,
    *,
    fine_id: int,
    amount_cents: int | None,
    actor: str,
    now: datetime,
    note: str = "",
) -> FineRead:
    """Waive a fine, wholly (``amount_cents=None``) or in part.

    Raises: FineNotFound, NothingOwed, BadAmount."""
    fine = session.get(Fine, fine_id)
    if fine is None:
        raise FineNotFound(fine_id)
    owed = _owed(fine)
    if owed <= 0:
        raise NothingOwed()
    amount = owed if amount_cents is None else amount_cents
    if amount <= 0 or amount > owed:
        raise BadAmount(money(amount))
    _apply(session, fine, "waiver", amount, actor=actor, note=note, now=now)
    return fine_reads(session, [fine])[0]


def fine_reads(session: Session, fines: list[Fine]) -> list[FineRead]:
    loans = {
        ln.id: ln
        for ln in session.scalars(
            select(Loan).where(Loan.id.in_([f.loan_id for f in fines if f.loan_id]))
        )
    }
    titles = catalog_service.titles_of(session, [ln.record_id for ln in loans.values()])
    return [
        FineRead(
            id=f.id,
            kind=f.kind,
            loan_id=f.loan_id,
            title=titles.get(loans[f.loan_id].record_id) if f.loan_id in loans else None,
            amount_cents=f.amount_cents,
            paid_cents=f.paid_cents,
            waived_cents=f.waived_cents,
            owed_cents=_owed(f),
            closed=f.closed,
            created_at=f.created_at,
        )
        for f in fines
    ]
