"""Staff accounts for those who manage them (``accounts.staff.manage``): the list, and one
account's page with its live logins (end one, end all) and disabling or enabling it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shulian.accounts import service as accounts_service
from shulian.circulation import service as circulation_service
from shulian.core.bounds import Id
from shulian.core.deps import NowDep, SessionDep, require
from shulian.core.security import Principal
from shulian.web.accounts.views import session_rows
from shulian.web.render import render

router = APIRouter(include_in_schema=False)
Manager = Annotated[Principal, require("accounts.staff.manage")]


@router.get("/staff/accounts", response_class=HTMLResponse)
def staff_accounts(request: Request, session: SessionDep, manager: Manager) -> Response:
    return render(
        request, "accounts/staff/accounts.html", {"staff": accounts_service.list_staff(session)}
    )


@router.get("/staff/accounts/{staff_id}", response_class=HTMLResponse)
def staff_account(
    staff_id: Id, request: Request, session: SessionDep, now: NowDep, manager: Manager
) -> Response:
    """One staff account: its roles, whether it is enabled, and where it is logged in."""
    staff = accounts_service.staff_read(session, accounts_service.get_staff(session, staff_id))
    rows = accounts_service.staff_sessions(
        session, staff_id=staff_id, now=now, current=manager.session_id
    )
    tz = circulation_service.library_tz(session)
    ctx = {"staff": staff, "sessions": session_rows(rows, tz), "self": staff.id == manager.id}
    return render(request, "accounts/staff/account.html", ctx)


@router.post("/staff/accounts/{staff_id}/active")
def set_active(
    staff_id: Id,
    session: SessionDep,
    now: NowDep,
    manager: Manager,
    active: Annotated[bool, Form()],
) -> Response:
    """Disable (ending all its logins at once) or enable a staff account."""
    accounts_service.set_staff_active(
        session, staff_id=staff_id, active=active, actor=manager.actor, now=now
    )
    return RedirectResponse(f"/staff/accounts/{staff_id}", status_code=303)


@router.post("/staff/accounts/{staff_id}/sessions/{session_id}/end")
def end_session(
    staff_id: Id, session_id: Id, session: SessionDep, now: NowDep, manager: Manager
) -> Response:
    accounts_service.revoke_staff_session(
        session, staff_id=staff_id, session_id=session_id, actor=manager.actor, now=now
    )
    return RedirectResponse(f"/staff/accounts/{staff_id}", status_code=303)


@router.post("/staff/accounts/{staff_id}/sessions/end-all")
def end_all_sessions(staff_id: Id, session: SessionDep, now: NowDep, manager: Manager) -> Response:
    accounts_service.get_staff(session, staff_id)
    accounts_service.revoke_all_staff_sessions(
        session, staff_id=staff_id, actor=manager.actor, now=now
    )
    return RedirectResponse(f"/staff/accounts/{staff_id}", status_code=303)
