"""The rules matrix: which rule applies, explain, validation, and due dates."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session

from shulian.circulation import service as circ
from shulian.circulation.errors import (
    DuplicateRule,
    InvalidRule,
    LastDefaultRule,
    NoRuleApplies,
)
from shulian.circulation.schemas import RuleFields
from shulian.consortium import service as consortium_service
from shulian.consortium.schemas import ClosedDayCreate
from tests.conftest import NOW
from tests.factories.catalog import make_item
from tests.factories.circulation import make_library


def rule(session: Session, **fields: object) -> int:
    return circ.create_rule(session, data=RuleFields(**fields), actor="staff:1", now=NOW).id  # type: ignore[arg-type]


class TestWhichRuleApplies:
    def test_most_specific_rule_wins(self, session: Session) -> None:
        make_library(session)
        students = rule(session, reader_category="student", loan_days=60)
        student_dvds = rule(session, reader_category="student", item_type="dvd", loan_days=7)
        got = circ.explain(session, reader_category="student", item_type="dvd", branch="CEN")
        assert got.rule.id == student_dvds
        got = circ.explain(session, reader_category="student", item_type="book", branch="CEN")
        assert got.rule.id == students

    def test_branch_breaks_a_tie_before_category(self, session: Session) -> None:
        make_library(session)
        at_point = rule(session, branch_code="S01", loan_days=14)
        rule(session, reader_category="student", loan_days=60)
        got = circ.explain(session, reader_category="student", item_type="book", branch="S01")
        assert got.rule.id == at_point
        assert "branch" in got.order

    def test_explain_says_why_other_rules_lost(self, session: Session) -> None:
        make_library(session)
        dvds = rule(session, item_type="dvd", loan_days=7)
        got = circ.explain(session, reader_category="adult", item_type="book", branch="CEN")
        reasons = {c.rule.id: (c.matched, c.reason) for c in got.candidates}
        assert reasons[dvds] == (False, "for item type dvd")
        child_rule = next(c for c in got.candidates if c.rule.reader_category == "child")
        assert child_rule.reason == "for reader category child"
        assert got.candidates[0].reason == "applies"

    def test_no_rule_at_all_is_refused_clearly(self, session: Session) -> None:
        make_library(session)
        default = next(r for r in circ.list_rules(session) if r.reader_category is None)
        with pytest.raises(LastDefaultRule):
            circ.delete_rule(session, rule_id=default.id, actor="staff:1", now=NOW)
        circ.update_rule(
            session,
            rule_id=default.id,
            data=RuleFields(reader_category="faculty"),
            actor="staff:1",
            now=NOW,
        )
        with pytest.raises(NoRuleApplies, match="reader category adult"):
            circ.explain(session, reader_category="adult", item_type="book", branch="CEN")


class TestRuleValidation:
    @pytest.mark.parametrize(
        ("fields", "reason"),
        [
            ({"reader_category": "alien"}, "alien.*no such reader category"),
            ({"branch_code": "ZZZ"}, "ZZZ.*no such branch"),
            ({"loan_days": 0}, "needs a loan period"),
            ({"max_loans": 3, "max_loans_of_type": 5}, "exceeds the limit"),
            ({"fine_per_day_cents": 50, "fine_cap_cents": 20}, "fine cap"),
        ],
    )
    def test_invalid_rule_is_refused_with_the_reason(
        self, session: Session, fields: dict[str, object], reason: str
    ) -> None:
        make_library(session)
        with pytest.raises(InvalidRule, match=reason):
            rule(session, **fields)

    def test_same_three_values_twice_is_refused(self, session: Session) -> None:
        make_library(session)
        first = rule(session, reader_category="student", item_type="dvd")
        with pytest.raises(DuplicateRule, match=str(first)):
            rule(session, reader_category="student", item_type="dvd", loan_days=3)

    def test_blank_strings_mean_any(self, session: Session) -> None:
        make_library(session)
        with pytest.raises(DuplicateRule):
            rule(session, reader_category="child", item_type="", branch_code="")


class TestDueDates:
    def test_due_day_moves_past_closed_days(self, session: Session) -> None:
        lib = make_library(session)
        # 30 days from Saturday 2026-11-21 is Monday 2026-12-21; close it and the next day.
        for day in (date(2026, 12, 21), date(2026, 12, 22)):
            consortium_service.add_closed_day(
                session,
                code="CEN",
                data=ClosedDayCreate(day=day, reason="盘点"),
                actor="staff:1",
                now=NOW,
            )
        loan = circ.check_out(
            session,
            reader_id=lib.reader.id,
            barcode=lib.items[0].barcode,
            branch="CEN",
            actor="staff:1",
            now=NOW,
        )
        local = loan.due_at.astimezone(circ.library_tz(session))
        assert local.date() == date(2026, 12, 23)
        assert (local.hour, local.minute) == (23, 59)

    def test_hourly_loans_end_hours_later(self, session: Session) -> None:
        lib = make_library(session)
        rule(session, item_type="reserve", loan_hours=4, loan_days=0)
        item = make_item(session, lib.record, item_type="reserve")
        loan = circ.check_out(
            session, reader_id=lib.reader.id, barcode=item.barcode, branch="CEN", actor="s", now=NOW
        )
        assert loan.due_at == NOW + timedelta(hours=4)
