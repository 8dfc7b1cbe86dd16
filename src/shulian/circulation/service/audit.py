"""What the ledger audit replays circulation's rows against: the state digest of every loan,
hold and fine as it stands, computed exactly as the events that changed them computed it."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from shulian.circulation.models import Fine, Hold, Loan
from shulian.circulation.service.common import fine_state, hold_state, loan_state


def audit_loan_states(session: Session) -> Iterator[tuple[int, str]]:
    for loan in session.scalars(select(Loan).order_by(Loan.id).execution_options(yield_per=5000)):
        yield loan.id, loan_state(loan)


def audit_hold_states(session: Session) -> Iterator[tuple[int, str]]:
    for hold in session.scalars(select(Hold).order_by(Hold.id).execution_options(yield_per=5000)):
        yield hold.id, hold_state(hold)


def audit_fine_states(session: Session) -> Iterator[tuple[int, str]]:
    for fine in session.scalars(select(Fine).order_by(Fine.id).execution_options(yield_per=5000)):
        yield fine.id, fine_state(fine)
