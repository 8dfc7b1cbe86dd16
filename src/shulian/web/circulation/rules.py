"""The loan rules matrix for staff: the table, the rule editor, explain, the circulation options.

Any staff member may read the matrix and ask which rule applies (as in the JSON API); changing a
rule or an option needs ``circulation.rules.manage``. A refused rule comes back in the editor as
it was typed, with the reason.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from shulian.accounts import service as accounts_service
from shulian.circulation import service
from shulian.circulation.errors import RuleNotFound
from shulian.circulation.schemas import RuleFields
from shulian.consortium import service as consortium_service
from shulian.core.bounds import Id
from shulian.core.deps import NowDep, SessionDep, StaffUser, require
from shulian.core.errors import ShulianError
from shulian.core.security import Principal
from shulian.web.circulation.views import (
    RuleForm,
    candidate_reason,
    form_to_rule,
    money,
    rule_to_form,
)
from shulian.web.consortium.views import branch_names
from shulian.web.forms import error_text
from shulian.web.render import render

router = APIRouter(include_in_schema=False)
RulesManager = Annotated[Principal, require("circulation.rules.manage")]
Code = Annotated[str, Query(max_length=32)]


def _choices(session: Session) -> dict[str, Any]:
    categories = accounts_service.list_categories(session)
    return {
        "categories": categories,
        "category_names": {c.code: (c.name_zh, c.name_en) for c in categories},
        "branches": consortium_service.list_branches(session),
        "branch_names": branch_names(session),
    }


def _matrix(
    request: Request,
    session: Session,
    *,
    explained: Any = None,
    ask: dict[str, str] | None = None,
    error: str | None = None,
    option_errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    done = request.query_params.get("done", "")
    ctx = {
        **_choices(session),
        "rules": service.list_rules(session),
        "options": service.list_options(session),
        "option_errors": option_errors or {},
        "money": money,
        "explained": explained,
        "ask": ask or {},
        "reason": candidate_reason,
        "error": error,
        "done": done if done in ("saved", "deleted", "option") else "",
    }
    return render(request, "circulation/staff/rules.html", ctx, status_code=status_code)


@router.get("/staff/rules", response_class=HTMLResponse)
def rules(request: Request, session: SessionDep, who: StaffUser) -> Response:
    """The matrix, most specific rule first, with the explain form and the options."""
    return _matrix(request, session)


@router.get("/staff/rules/explain", response_class=HTMLResponse)
def explain(
    request: Request,
    session: SessionDep,
    who: StaffUser,
    reader_category: Code = "",
    item_type: Code = "",
    branch: Code = "",
) -> Response:
    """Which rule applies to a reader category + item type + branch, and why the others don't."""
    ask = {"reader_category": reader_category, "item_type": item_type, "branch": branch}
    try:
        found = service.explain(
            session,
            reader_category=reader_category.strip(),
            item_type=item_type.strip() or None,
            branch=branch.strip().upper(),
        )
    except ShulianError as exc:
        return _matrix(
            request, session, ask=ask, error=error_text(exc), status_code=exc.status_code
        )
    return _matrix(request, session, explained=found, ask=ask)


# -- the editor -----------------------------------------------------------------------------------


def _editor(
    request: Request,
    session: Session,
    *,
    form: dict[str, Any],
    rule_id: int | None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    choices = _choices(session)
    ctx = {
        **choices,
        "category_options": [(c.code, c.name_zh, c.name_en) for c in choices["categories"]],
        "branch_options": [(b.code, b.name_zh, b.name_en) for b in choices["branches"]],
        "form": form,
        "rule_id": rule_id,
        "errors": errors or {},
        "error": error,
    }
    return render(request, "circulation/staff/rule_form.html", ctx, status_code=status_code)


def _save(
    request: Request,
    session: Session,
    who: Principal,
    now: NowDep,
    form: RuleForm,
    rule_id: int | None,
) -> Response:
    typed = form.model_dump()
    data, errors = form_to_rule(typed)
    if data is None:
        return _editor(
            request, session, form=typed, rule_id=rule_id, errors=errors, status_code=422
        )
    try:
        if rule_id is None:
            service.create_rule(session, data=data, actor=who.actor, now=now)
        else:
            service.update_rule(session, rule_id=rule_id, data=data, actor=who.actor, now=now)
    except ShulianError as exc:
        session.rollback()
        field = str(exc.params.get("field", ""))
        return _editor(
            request,
            session,
            form=typed,
            rule_id=rule_id,
            errors={field: ""} if field in typed else None,
            error=error_text(exc),
            status_code=exc.status_code,
        )
    return RedirectResponse("/staff/rules?done=saved", status_code=303)


@router.get("/staff/rules/new", response_class=HTMLResponse)
def new_rule_form(request: Request, session: SessionDep, who: RulesManager) -> Response:
    return _editor(request, session, form=rule_to_form(RuleFields()), rule_id=None)


@router.post("/staff/rules/new", response_class=HTMLResponse)
def new_rule(
    request: Request,
    session: SessionDep,
    now: NowDep,
    who: RulesManager,
    form: Annotated[RuleForm, Form()],
) -> Response:
    return _save(request, session, who, now, form, None)


@router.get("/staff/rules/{rule_id}", response_class=HTMLResponse)
def edit_rule_form(
    rule_id: Id, request: Request, session: SessionDep, who: RulesManager
) -> Response:
    rule = next((r for r in service.list_rules(session) if r.id == rule_id), None)
    if rule is None:
        raise RuleNotFound(rule_id)
    return _editor(request, session, form=rule_to_form(rule), rule_id=rule_id)


@router.post("/staff/rules/{rule_id}", response_class=HTMLResponse)
def edit_rule(
    rule_id: Id,
    request: Request,
    session: SessionDep,
    now: NowDep,
    who: RulesManager,
    form: Annotated[RuleForm, Form()],
) -> Response:
    return _save(request, session, who, now, form, rule_id)


@router.post("/staff/rules/{rule_id}/delete", response_class=HTMLResponse)
def delete_rule(
    rule_id: Id, request: Request, session: SessionDep, now: NowDep, who: RulesManager
) -> Response:
    try:
        service.delete_rule(session, rule_id=rule_id, actor=who.actor, now=now)
    except ShulianError as exc:
        session.rollback()
        return _matrix(request, session, error=error_text(exc), status_code=exc.status_code)
    return RedirectResponse("/staff/rules?done=deleted", status_code=303)


@router.post("/staff/rules/options/{name}", response_class=HTMLResponse)
def set_option(
    name: str,
    request: Request,
    session: SessionDep,
    now: NowDep,
    who: RulesManager,
    value: Annotated[str, Form(max_length=200)],
) -> Response:
    try:
        service.set_option(session, name=name, value=value, actor=who.actor, now=now)
    except ShulianError as exc:
        session.rollback()
        errors = {name: error_text(exc)}
        return _matrix(request, session, option_errors=errors, status_code=exc.status_code)
    return RedirectResponse("/staff/rules?done=option#options", status_code=303)
