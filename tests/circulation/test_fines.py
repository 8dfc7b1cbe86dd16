"""Overdue fines by the loan's contract: closed days skipped, grace days, the cap; payments and
waivers recorded; readers over the limit blocked until they pay."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from shulian.circulation import service as circ
from shulian.circulation.errors import BadAmount, FinesOverLimit, NothingOwed
from shulian.circulation.models import FinePayment
from shulian.circulation.schemas import RuleFields
from shulian.consortium import service as consortium_service
from shulian.consortium.schemas import ClosedDayCreate, DayHours, WeeklyHours
from shulian.core.events import Event
from tests.conftest import NOW
from tests.factories.circulation import Library, make_library


def lend_and_return_late(session: Session, lib: Library, days_after_due: int) -> int:
    loan = circ.check_out(
        session,
        reader_id=lib.reader.id,
        barcode=lib.items[0].barcode,
        branch="CEN",
        actor="s",
        now=NOW,
    )
    back = circ.check_in(
        session,
        barcode=lib.items[0].barcode,
        branch="CEN",
        actor="s",
        now=loan.due_at + timedelta(days=days_after_due),
    )
    return back.fine_cents


class TestOverdueFines:
    def test_each_late_open_day_costs_the_daily_fine(self, session: Session) -> None:
        lib = make_library(session)
        assert lend_and_return_late(session, lib, 5) == 50

    def test_closed_days_are_not_charged(self, session: Session) -> None:
        lib = make_library(session)
        # CEN opens Monday to Friday only; due Monday 2026-12-21, back the next Monday.
        consortium_service.set_opening_hours(
            session,
            code="CEN",
            hours=WeeklyHours(
                days=[DayHours(weekday=d, opens="09:00", closes="21:00") for d in range(5)]
            ),
            actor="s",
            now=NOW,
        )
        consortium_service.add_closed_day(
            session,
            code="CEN",
            data=ClosedDayCreate(day=date(2026, 12, 25), reason="闭馆"),
            actor="s",
            now=NOW,
        )
        assert lend_and_return_late(session, lib, 7) == 40  # Tue, Wed, Thu, Mon

    def test_grace_days_forgive_and_the_cap_limits(self, session: Session) -> None:
        lib = make_library(session)
        circ.create_rule(
            session,
            data=RuleFields(reader_category="adult", grace_days=3, fine_cap_cents=100),
            actor="s",
            now=NOW,
        )
        assert lend_and_return_late(session, lib, 3) == 0
        lib.items[0] = lib.items[1]
        assert lend_and_return_late(session, lib, 30) == 100

    def test_daily_accrual_keeps_the_balance_current_and_blocks(self, session: Session) -> None:
        lib = make_library(session)
        loan = circ.check_out(
            session,
            reader_id=lib.reader.id,
            barcode=lib.items[0].barcode,
            branch="CEN",
            actor="s",
            now=NOW,
        )
        late = loan.due_at + timedelta(days=150)
        assert circ.accrue_fines(session, now=late) == 1
        assert circ.accrue_fines(session, now=late) == 0  # nothing new: no second event
        assert circ.balance(session, lib.reader.id) == 1000
        account = circ.reader_account(session, reader_id=lib.reader.id, now=late)
        assert account.blocks == []  # at the limit, not over it
        circ.create_rule(
            session,
            data=RuleFields(reader_category="adult", max_fines_cents=900),
            actor="s",
            now=NOW,
        )
        account = circ.reader_account(session, reader_id=lib.reader.id, now=late)
        assert account.blocks and "¥10.00" in account.blocks[0]
        with pytest.raises(FinesOverLimit):
            circ.check_out(
                session,
                reader_id=lib.reader.id,
                barcode=lib.items[1].barcode,
                branch="B01",
                actor="s",
                now=late,
            )


class TestPayments:
    def test_payment_and_waiver_are_recorded_as_events(self, session: Session) -> None:
        lib = make_library(session)
        lend_and_return_late(session, lib, 8)  # 80 cents
        with pytest.raises(BadAmount):
            circ.pay(session, reader_id=lib.reader.id, amount_cents=81, actor="s", now=NOW)
        assert circ.pay(session, reader_id=lib.reader.id, amount_cents=30, actor="s", now=NOW) == 50
        fine = circ.reader_account(session, reader_id=lib.reader.id, now=NOW).fines[0]
        waived = circ.waive(
            session, fine_id=fine.id, amount_cents=None, actor="s", now=NOW, note="首次"
        )
        assert waived.owed_cents == 0 and waived.closed
        assert circ.reader_account(session, reader_id=lib.reader.id, now=NOW).fines == []
        kinds = [p.kind for p in session.scalars(select(FinePayment).order_by(FinePayment.id))]
        assert kinds == ["payment", "waiver"]
        types = set(session.scalars(select(Event.type).where(Event.subject == f"fine:{fine.id}")))
        assert types == {
            "circulation.fine.accrued",
            "circulation.fine.paid",
            "circulation.fine.waived",
        }
        with pytest.raises(NothingOwed):
            circ.pay(session, reader_id=lib.reader.id, amount_cents=1, actor="s", now=NOW)
