from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from shulian.consortium import service
from shulian.consortium.errors import (
    BranchCodeTaken,
    BranchNotFound,
    ClosedDayNotFound,
    InvalidBranchTree,
    InvalidOpeningHours,
)
from shulian.consortium.schemas import (
    BranchCreate,
    BranchKind,
    ClosedDayCreate,
    DayHours,
    WeeklyHours,
)
from shulian.core.events import Event
from tests.conftest import NOW
from tests.factories.consortium import make_network


def _create(session: Session, code: str, kind: BranchKind, parent: str | None) -> None:
    service.create_branch(
        session,
        data=BranchCreate(code=code, name_zh="馆", name_en="Lib", kind=kind, parent_code=parent),
        actor="test",
        now=NOW,
    )


class TestBranchTree:
    def test_builds_the_network_tree(self, session: Session) -> None:
        make_network(session)
        roots = service.branch_tree(session)
        cen = next(r for r in roots if r.branch.code == "CEN")
        assert sorted(c.branch.code for c in cen.children) == ["B01", "D01"]
        b01 = next(c for c in cen.children if c.branch.code == "B01")
        assert [c.branch.code for c in b01.children] == ["S01"]

    def test_codes_are_normalised_and_unique(self, session: Session) -> None:
        make_network(session)
        assert service.get_branch_by_code(session, " b01 ").code == "B01"
        with pytest.raises(BranchCodeTaken, match="B01"):
            _create(session, "b01", BranchKind.BRANCH, "CEN")

    def test_central_library_has_no_parent(self, session: Session) -> None:
        make_network(session)
        with pytest.raises(InvalidBranchTree, match="central library has no parent"):
            _create(session, "CEN2", BranchKind.CENTRAL, "CEN")

    def test_branch_needs_an_existing_parent(self, session: Session) -> None:
        with pytest.raises(InvalidBranchTree, match="needs a parent"):
            _create(session, "B09", BranchKind.BRANCH, None)
        with pytest.raises(BranchNotFound, match="NOPE"):
            _create(session, "B09", BranchKind.BRANCH, "NOPE")

    def test_nothing_hangs_under_a_delivery_point(self, session: Session) -> None:
        make_network(session)
        with pytest.raises(InvalidBranchTree, match="delivery point"):
            _create(session, "D02", BranchKind.DELIVERY_POINT, "D01")

    def test_creation_is_an_event(self, session: Session) -> None:
        make_network(session)
        ev = session.scalars(
            select(Event).where(Event.subject == "branch:S01").order_by(Event.seq.desc())
        ).first()
        assert ev is not None and ev.type == "consortium.branch_created"
        assert ev.payload["kind"] == "self_service"


class TestCalendar:
    def test_branch_without_hours_is_open_every_day(self, session: Session) -> None:
        make_network(session)
        assert service.next_open_day(session, code="B01", day=date(2026, 11, 23)) == date(
            2026, 11, 23
        )

    def test_due_date_skips_closed_weekdays_and_closed_days(self, session: Session) -> None:
        make_network(session)
        # Open Tuesday to Sunday; closed on Mondays.
        week = WeeklyHours(
            days=[DayHours(weekday=d, opens="09:00", closes="21:00") for d in range(1, 7)]
        )
        service.set_opening_hours(session, code="CEN", hours=week, actor="t", now=NOW)
        service.add_closed_day(
            session,
            code="CEN",
            data=ClosedDayCreate(day=date(2026, 11, 24), reason="盘点"),
            actor="t",
            now=NOW,
        )
        monday = date(2026, 11, 23)
        assert not service.is_open_on(session, code="CEN", day=monday)
        assert not service.is_open_on(session, code="CEN", day=date(2026, 11, 24))
        assert service.next_open_day(session, code="CEN", day=monday) == date(2026, 11, 25)
        # Another branch keeps its own calendar.
        assert service.next_open_day(session, code="B01", day=monday) == monday

    def test_closed_day_can_be_removed(self, session: Session) -> None:
        make_network(session)
        day = date(2027, 1, 1)
        service.add_closed_day(
            session, code="B01", data=ClosedDayCreate(day=day), actor="t", now=NOW
        )
        service.remove_closed_day(session, code="B01", day=day, actor="t", now=NOW)
        assert service.is_open_on(session, code="B01", day=day)
        with pytest.raises(ClosedDayNotFound, match="2027-01-01"):
            service.remove_closed_day(session, code="B01", day=day, actor="t", now=NOW)

    def test_rejects_hours_that_close_before_opening(self, session: Session) -> None:
        make_network(session)
        bad = WeeklyHours(days=[DayHours(weekday=2, opens="18:00", closes="09:00")])
        with pytest.raises(InvalidOpeningHours, match="weekday 2: closes before it opens"):
            service.set_opening_hours(session, code="B01", hours=bad, actor="t", now=NOW)

    def test_rejects_a_weekday_given_twice(self, session: Session) -> None:
        make_network(session)
        twice = WeeklyHours(days=[DayHours(weekday=0, opens="09:00", closes="12:00")] * 2)
        with pytest.raises(InvalidOpeningHours, match="given twice"):
            service.set_opening_hours(session, code="B01", hours=twice, actor="t", now=NOW)

    def test_round_the_clock_point(self, session: Session) -> None:
        make_network(session)
        always = WeeklyHours(
            days=[DayHours(weekday=d, opens="00:00", closes="24:00") for d in range(7)]
        )
        service.set_opening_hours(session, code="S01", hours=always, actor="t", now=NOW)
        cal = service.calendar(session, code="S01", start=date(2026, 11, 1), end=date(2026, 12, 1))
        assert [h.closes for h in cal.hours] == ["24:00"] * 7

    def test_a_calendar_with_no_open_day_is_an_error(self, session: Session) -> None:
        make_network(session)
        one_day = WeeklyHours(days=[DayHours(weekday=0, opens="09:00", closes="10:00")])
        service.set_opening_hours(session, code="B01", hours=one_day, actor="t", now=NOW)
        # Close every Monday for a year and a bit.
        day = date(2026, 11, 23)
        for week in range(54):
            service.add_closed_day(
                session,
                code="B01",
                data=ClosedDayCreate(day=date.fromordinal(day.toordinal() + 7 * week)),
                actor="t",
                now=NOW,
            )
        with pytest.raises(InvalidOpeningHours, match="no open day within a year"):
            service.next_open_day(session, code="B01", day=day)
