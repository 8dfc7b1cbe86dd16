"""Loan rules: which row of the matrix applies, the terms it freezes into a loan, and the dates
those terms give.

Which rule applies: among the rules whose reader category, item type and branch each equal the
case's or are blank ("any"), the one naming the most of the three wins. On a tie the branch
counts first, then the reader category, then the item type: a rule for "this branch, any reader"
beats one for "any branch, students", since a branch's own rules (a 24-hour point lends for 14
days) are the more deliberate local choice. Two rules naming the same three values cannot exist.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from shulian.circulation.errors import NoRuleApplies
from shulian.circulation.models import LoanRule
from shulian.consortium import service as consortium_service

TERM_FIELDS = (
    "loanable", "loan_days", "loan_hours", "renewals", "renewal_days", "max_loans",
    "max_loans_of_type", "max_holds", "fine_per_day_cents", "fine_cap_cents", "max_fines_cents",
    "grace_days", "holds_block_renewal", "hold_shelf_days",
)  # fmt: skip


@dataclass(frozen=True)
class Terms:
    """A loan's contract: the rule's values as they were at checkout."""

    rule_id: int | None
    loanable: bool
    loan_days: int
    loan_hours: int | None
    renewals: int
    renewal_days: int
    max_loans: int
    max_loans_of_type: int | None
    max_holds: int
    fine_per_day_cents: int
    fine_cap_cents: int
    max_fines_cents: int
    grace_days: int
    holds_block_renewal: bool
    hold_shelf_days: int

    @classmethod
    def of(cls, rule: LoanRule) -> Terms:
        return cls(rule_id=rule.id, **{f: getattr(rule, f) for f in TERM_FIELDS})

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Terms:
        return cls(rule_id=data.get("rule_id"), **{f: data[f] for f in TERM_FIELDS})

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def rank(rule: LoanRule) -> tuple[int, bool, bool, bool, int]:
    """How specific a rule is; the larger wins (see the module's docstring)."""
    named = (
        rule.branch_code is not None,
        rule.reader_category is not None,
        rule.item_type is not None,
    )
    return (sum(named), *named, -rule.id)


def matches(rule: LoanRule, *, category: str, item_type: str | None, branch: str) -> bool:
    return (
        (rule.reader_category is None or rule.reader_category == category)
        and (rule.item_type is None or rule.item_type == item_type)
        and (rule.branch_code is None or rule.branch_code == branch)
    )


@dataclass(frozen=True)
class Candidate:
    rule: LoanRule
    matched: bool
    reason: str  # why it does not match, or "applies" / "less specific than rule N"


def candidates(
    session: Session, *, category: str, item_type: str | None, branch: str
) -> list[Candidate]:
    """Every rule with whether it matches the case and why not; the applicable one first."""
    rules = list(session.scalars(select(LoanRule)))
    hits = sorted(
        (r for r in rules if matches(r, category=category, item_type=item_type, branch=branch)),
        key=rank,
        reverse=True,
    )
    out: list[Candidate] = []
    for i, r in enumerate(hits):
        out.append(
            Candidate(r, True, "applies" if i == 0 else f"less specific than rule {hits[0].id}")
        )
    for r in sorted(rules, key=lambda r: r.id):
        if r in hits:
            continue
        if r.reader_category is not None and r.reader_category != category:
            why = f"for reader category {r.reader_category}"
        elif r.item_type is not None and r.item_type != item_type:
            why = f"for item type {r.item_type}"
        else:
            why = f"for branch {r.branch_code}"
        out.append(Candidate(r, False, why))
    return out


def applicable(session: Session, *, category: str, item_type: str | None, branch: str) -> LoanRule:
    """The rule that applies. ``item_type=None`` asks for rules that hold for any item type (a
    hold on a title, before a copy is chosen). Raises: NoRuleApplies."""
    best: LoanRule | None = None
    for r in session.scalars(select(LoanRule)):
        if matches(r, category=category, item_type=item_type, branch=branch) and (
            best is None or rank(r) > rank(best)
        ):
            best = r
    if best is None:
        raise NoRuleApplies(category, item_type or "*", branch)
    return best


# -- dates ----------------------------------------------------------------------------------------


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def end_of_day(day: date, tz: ZoneInfo) -> datetime:
    """The last second of ``day`` in the library's time zone: a book due on a day may come
    back any time that day."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=tz).astimezone(UTC)


def due_at(
    session: Session, *, start: datetime, days: int, hours: int | None, branch: str, tz: ZoneInfo
) -> datetime:
    """When a loan (or renewal) starting at ``start`` falls due. Day loans end at the close of
    the due day, moved to the lending branch's next open day; hourly loans end ``hours`` later."""
    if hours:
        return start + timedelta(hours=hours)
    day = local_date(start, tz) + timedelta(days=days)
    day = consortium_service.next_open_day(session, code=branch, day=day)
    return end_of_day(day, tz)


def overdue_days(
    session: Session, *, due: datetime, until: datetime, branch: str, tz: ZoneInfo
) -> int:
    """Open days of the lending branch after the due day, up to and including ``until``'s day.
    Hourly loans count each started day."""
    first = local_date(due, tz) + timedelta(days=1)
    last = local_date(until, tz)
    if until <= due or last < first:
        return 1 if until > due else 0
    return len(consortium_service.open_days(session, code=branch, start=first, end=last))


def fine_for(terms: Terms, days_late: int) -> int:
    """The overdue fine in cents: nothing within the grace days, beyond them every late open
    day counts, up to the cap."""
    if days_late <= terms.grace_days or terms.fine_per_day_cents <= 0:
        return 0
    return min(days_late * terms.fine_per_day_cents, terms.fine_cap_cents)
