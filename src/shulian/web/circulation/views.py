"""What the circulation pages need around the circulation service: money in yuan, times in the
library's time zone, where holds may be collected, the rule form (text boxes <-> ``RuleFields``)
and explain's reasons in the reader's language.

Nothing here writes: the page handlers call the service, which owns the rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from shulian.circulation.schemas import CandidateRead, ExplainRead, RuleFields, RuleRead
from shulian.consortium import service as consortium_service
from shulian.core import i18n
from shulian.core.errors import BadRequest
from shulian.web.forms import problem_text

MONEY_FIELDS = ("fine_per_day_cents", "fine_cap_cents", "max_fines_cents")
OPTIONAL_INT_FIELDS = ("loan_hours", "max_loans_of_type")
CHECKBOXES = ("loanable", "holds_block_renewal")


class AmountNotUnderstood(BadRequest):
    def __init__(self, amount: str) -> None:
        super().__init__("{amount} is not an amount in yuan, such as 2.50", amount=amount)


# -- money and time -------------------------------------------------------------------------------


def money(cents: int) -> str:
    return f"¥{cents / 100:.2f}"


def yuan(cents: int | None) -> str:
    """Cents as the number a form shows (``1.50``)."""
    return "" if cents is None else f"{cents / 100:.2f}"


def parse_yuan(text: str) -> int:
    """``2.5``, ``¥2.50`` or ``2`` as cents. Raises: AmountNotUnderstood."""
    cleaned = text.strip().lstrip("¥￥").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise AmountNotUnderstood(text.strip()[:20]) from None
    # copy_abs, not abs: abs rounds to the context and raises Overflow on 1e999999999.
    if not value.is_finite() or value.as_tuple().exponent < -2 or value.copy_abs() > 10**9:  # type: ignore[operator]
        raise AmountNotUnderstood(text.strip()[:20])
    return int(value * 100)


class Clock:
    """Formats moments in the library's time zone: a day, or a day and time for loans that end
    at an hour other than the close of the day (hourly loans)."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz

    def day(self, moment: datetime | None) -> str:
        return "" if moment is None else moment.astimezone(self.tz).date().isoformat()

    def due(self, moment: datetime | None) -> str:
        if moment is None:
            return ""
        local = moment.astimezone(self.tz)
        if local.time() >= time(23, 59):
            return local.date().isoformat()
        return local.strftime("%Y-%m-%d %H:%M")


def pickup_branches(session: Session) -> list[consortium_service.Branch]:
    """Where a reader may collect a hold: every open service point of the network."""
    return list(consortium_service.list_branches(session))


# -- the rule form --------------------------------------------------------------------------------


class RuleForm(BaseModel):
    """The rule editor's boxes as typed; money in yuan, blanks for "any" and "no limit"."""

    reader_category: str = ""
    item_type: str = ""
    branch_code: str = ""
    loanable: bool = False  # an unticked box is not sent
    loan_days: str = ""
    loan_hours: str = ""
    renewals: str = ""
    renewal_days: str = ""
    max_loans: str = ""
    max_loans_of_type: str = ""
    max_holds: str = ""
    fine_per_day_cents: str = ""
    fine_cap_cents: str = ""
    max_fines_cents: str = ""
    grace_days: str = ""
    holds_block_renewal: bool = False
    hold_shelf_days: str = ""
    note: str = ""


def rule_to_form(rule: RuleFields) -> dict[str, Any]:
    form: dict[str, Any] = {}
    for name, value in rule.model_dump().items():
        if name in CHECKBOXES:
            form[name] = bool(value)
        elif name in MONEY_FIELDS:
            form[name] = yuan(value)
        else:
            form[name] = "" if value is None else str(value)
    return form


def form_to_rule(form: Mapping[str, Any]) -> tuple[RuleFields | None, dict[str, str]]:
    """The editor's boxes as a rule, or None and the problems by box."""
    data: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in RuleFields.model_fields:
        value = form.get(name)
        if name in CHECKBOXES:
            data[name] = bool(value)
            continue
        text = str(value or "").strip()
        if name in MONEY_FIELDS:
            try:
                data[name] = parse_yuan(text or "0")
            except AmountNotUnderstood as exc:
                errors[name] = exc.localized()
        elif name in OPTIONAL_INT_FIELDS or name in ("reader_category", "item_type", "branch_code"):
            data[name] = text or None
        else:
            data[name] = text
    try:
        rule = RuleFields.model_validate(data)
    except ValidationError as exc:
        return None, {**field_errors(exc), **errors}
    return (None, errors) if errors else (rule, {})


def field_errors(exc: ValidationError) -> dict[str, str]:
    """The first problem of each box, in the reader's language where it is a common one."""
    out: dict[str, str] = {}
    for err in exc.errors():
        name = str(err["loc"][0]) if err["loc"] else ""
        out.setdefault(name, problem_text(err))
    return out


# -- explain --------------------------------------------------------------------------------------


def candidate_reason(candidate: CandidateRead, result: ExplainRead) -> str:
    """Why a rule applies or not, in the reader's language (the service's reason is English)."""
    rule: RuleRead = candidate.rule
    if candidate.matched:
        if rule.id == result.rule.id:
            return i18n.gettext("Applies: the most specific rule that matches")
        return i18n.gettext("Matches, but is less specific than rule {rule_id}").format(
            rule_id=result.rule.id
        )
    if rule.reader_category is not None and rule.reader_category != result.reader_category:
        return i18n.gettext("Only for reader category {category}").format(
            category=rule.reader_category
        )
    if rule.item_type is not None and rule.item_type != result.item_type:
        return i18n.gettext("Only for item type {item_type}").format(item_type=rule.item_type)
    if rule.branch_code is not None and rule.branch_code != result.branch:
        return i18n.gettext("Only at branch {branch}").format(branch=rule.branch_code)
    return candidate.reason
