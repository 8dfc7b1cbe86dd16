"""The rules matrix (staff edit it; an invalid rule is refused with the reason), explain, the
circulation options and the transit times between branches."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from shulian.accounts import service as accounts_service
from shulian.circulation import policy
from shulian.circulation.errors import (
    DuplicateRule,
    InvalidOption,
    InvalidRule,
    LastDefaultRule,
    RuleNotFound,
    UnknownOption,
)
from shulian.circulation.models import CirculationOption, LoanRule, TransitTime
from shulian.circulation.schemas import (
    CandidateRead,
    ExplainRead,
    OptionRead,
    RuleFields,
    RuleRead,
)
from shulian.circulation.service.common import DEFAULT_OPTIONS, emit, option
from shulian.consortium import service as consortium_service
from shulian.core.db import transaction_cache
from shulian.core.errors import NotFound

TIE_BREAK = (
    "The rule naming the most of reader category, item type and branch applies; on a tie the "
    "one naming the branch wins, then the one naming the reader category, then the item type."
)


def list_rules(session: Session) -> list[RuleRead]:
    rules = sorted(session.scalars(select(LoanRule)), key=policy.rank, reverse=True)
    return [RuleRead.model_validate(r) for r in rules]


def get_rule(session: Session, rule_id: int) -> LoanRule:
    rule = session.get(LoanRule, rule_id)
    if rule is None:
        raise RuleNotFound(rule_id)
    return rule


def _validate(session: Session, data: RuleFields, *, rule_id: int | None) -> None:
    if data.reader_category is not None:
        known = {c.code for c in accounts_service.list_categories(session)}
        if data.reader_category not in known:
            raise InvalidRule(data.reader_category, "no such reader category")
    if data.branch_code is not None:
        try:
            consortium_service.get_branch_by_code(session, data.branch_code)
        except NotFound:
            raise InvalidRule(data.branch_code, "no such branch") from None
    if data.loanable and data.loan_days == 0 and not data.loan_hours:
        raise InvalidRule("loan_days", "a loanable rule needs a loan period (days or hours)")
    if data.max_loans_of_type is not None and data.max_loans_of_type > data.max_loans:
        raise InvalidRule(
            "max_loans_of_type", "the limit for one item type exceeds the limit for all items"
        )
    if data.fine_cap_cents < data.fine_per_day_cents:
        raise InvalidRule("fine_cap_cents", "the fine cap is smaller than one day's fine")
    clash = session.scalars(
        select(LoanRule.id).where(
            LoanRule.reader_category.is_(None)
            if data.reader_category is None
            else LoanRule.reader_category == data.reader_category,
            LoanRule.item_type.is_(None)
            if data.item_type is None
            else LoanRule.item_type == data.item_type,
            LoanRule.branch_code.is_(None)
            if data.branch_code is None
            else LoanRule.branch_code == data.branch_code,
        )
    ).first()
    if clash is not None and clash != rule_id:
        raise DuplicateRule(clash)


def _event(session: Session, rule: LoanRule, kind: str, *, actor: str, now: datetime) -> None:
    emit(
        session,
        type=f"circulation.rule.{kind}",
        now=now,
        actor=actor,
        branch=rule.branch_code,
        subject=f"rule:{rule.id}",
        payload={"rule": RuleFields.model_validate(rule, from_attributes=True).model_dump()},
    )


def create_rule(session: Session, *, data: RuleFields, actor: str, now: datetime) -> RuleRead:
    """Add a row to the matrix. Raises: InvalidRule, DuplicateRule."""
    data = _clean(data)
    _validate(session, data, rule_id=None)
    rule = LoanRule(**data.model_dump(), updated_at=now)
    session.add(rule)
    session.flush()
    _event(session, rule, "created", actor=actor, now=now)
    return RuleRead.model_validate(rule)


def update_rule(
    session: Session, *, rule_id: int, data: RuleFields, actor: str, now: datetime
) -> RuleRead:
    """Change a rule. Loans already made keep the terms they were made with.

    Raises: RuleNotFound, InvalidRule, DuplicateRule."""
    rule = get_rule(session, rule_id)
    data = _clean(data)
    _validate(session, data, rule_id=rule_id)
    for name, value in data.model_dump().items():
        setattr(rule, name, value)
    rule.updated_at = now
    session.flush()
    _event(session, rule, "updated", actor=actor, now=now)
    return RuleRead.model_validate(rule)


def delete_rule(session: Session, *, rule_id: int, actor: str, now: datetime) -> None:
    """Raises: RuleNotFound, LastDefaultRule (the all-blank rule stays, so every case has one)."""
    rule = get_rule(session, rule_id)
    if rule.reader_category is None and rule.item_type is None and rule.branch_code is None:
        raise LastDefaultRule()
    _event(session, rule, "deleted", actor=actor, now=now)
    session.delete(rule)
    session.flush()


def _clean(data: RuleFields) -> RuleFields:
    """Blank strings mean "any" as NULL does."""
    return data.model_copy(
        update={
            "reader_category": (data.reader_category or "").strip() or None,
            "item_type": (data.item_type or "").strip() or None,
            "branch_code": (data.branch_code or "").strip().upper() or None,
        }
    )


def explain(
    session: Session, *, reader_category: str, item_type: str | None, branch: str
) -> ExplainRead:
    """Which rule applies to this case and why each other rule does not.

    Raises: NoRuleApplies, BranchNotFound."""
    branch = consortium_service.get_branch_by_code(session, branch).code
    found = policy.candidates(session, category=reader_category, item_type=item_type, branch=branch)
    if not found or not found[0].matched:
        policy.applicable(session, category=reader_category, item_type=item_type, branch=branch)
    return ExplainRead(
        reader_category=reader_category,
        item_type=item_type,
        branch=branch,
        rule=RuleRead.model_validate(found[0].rule),
        candidates=[
            CandidateRead(rule=RuleRead.model_validate(c.rule), matched=c.matched, reason=c.reason)
            for c in found
        ],
        order=TIE_BREAK,
    )


# -- options and transit times --------------------------------------------------------------------


def list_options(session: Session) -> list[OptionRead]:
    return [OptionRead(name=n, value=option(session, n)) for n in DEFAULT_OPTIONS]


def set_option(session: Session, *, name: str, value: str, actor: str, now: datetime) -> OptionRead:
    """Raises: UnknownOption, InvalidOption."""
    if name not in DEFAULT_OPTIONS:
        raise UnknownOption(name)
    value = value.strip()
    if name == "timezone":
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidOption(name, value) from None
    elif not value.isdigit() or int(value) > 100_000:
        raise InvalidOption(name, value)
    row = session.get(CirculationOption, name)
    if row is None:
        session.add(CirculationOption(name=name, value=value))
    else:
        row.value = value
    session.flush()
    transaction_cache(session).pop("circulation_options", None)
    emit(
        session,
        type="circulation.option.set",
        now=now,
        actor=actor,
        branch=None,
        subject=f"option:{name}",
        payload={"name": name, "value": value},
    )
    return OptionRead(name=name, value=value)


def set_transit_time(
    session: Session, *, from_branch: str, to_branch: str, hours: int, actor: str, now: datetime
) -> None:
    """How long the van takes from one branch to another. Raises: BranchNotFound, InvalidOption."""
    a = consortium_service.get_branch_by_code(session, from_branch).code
    b = consortium_service.get_branch_by_code(session, to_branch).code
    if hours < 0 or hours > 24 * 60:
        raise InvalidOption("transit hours", str(hours))
    row = session.scalars(
        select(TransitTime).where(TransitTime.from_branch == a, TransitTime.to_branch == b)
    ).first()
    if row is None:
        session.add(TransitTime(from_branch=a, to_branch=b, hours=hours))
    else:
        row.hours = hours
    session.flush()
    emit(
        session,
        type="circulation.transit_time.set",
        now=now,
        actor=actor,
        branch=a,
        subject=f"route:{a}-{b}",
        payload={"from": a, "to": b, "hours": hours},
    )
