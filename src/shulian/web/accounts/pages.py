"""Logging in and out, one's own logins ("log out everywhere"), the reader's QR card (swapped in
by htmx before it expires) and changing one's own password. "My library" itself (``/me``) is
circulation's page."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from shulian.accounts import service as accounts_service
from shulian.accounts.api import QRSigner, client_address, login, reader_qr, user_agent
from shulian.accounts.schemas import LoginRequest
from shulian.circulation import service as circulation_service
from shulian.core.bounds import Id
from shulian.core.deps import (
    CurrentPrincipal,
    CurrentReader,
    NowDep,
    OptionalPrincipal,
    SessionDep,
    SettingsDep,
)
from shulian.core.errors import ShulianError
from shulian.web.accounts.views import session_rows
from shulian.web.forms import error_text, safe_next
from shulian.web.render import render
from shulian.web.session import SESSION_COOKIE, clear_session_cookie, set_session_cookie

router = APIRouter(include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request, who: OptionalPrincipal, next: str = "/", kind: str = "reader"
) -> Response:
    return render(
        request, "accounts/login.html", {"next": safe_next(next), "kind": kind, "error": None}
    )


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    kind: Annotated[str, Form()],
    account: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Staff land on ``/staff``, readers on ``/me``, unless ``next`` (a local path) says where.
    A login the browser already had ends: each login gets a fresh session."""
    try:
        body = LoginRequest(kind=kind, account=account, password=password)
        found_kind, account_id = login(session, body, request=request, settings=settings, now=now)
    except (ShulianError, ValidationError) as exc:
        status = exc.status_code if isinstance(exc, ShulianError) else 422
        ctx = {"next": safe_next(next), "kind": kind, "error": error_text(exc), "account": account}
        return render(request, "accounts/login.html", ctx, status_code=status)
    _end_cookie_session(request, session, now)
    opened = accounts_service.open_session(
        session,
        kind=found_kind,
        account_id=account_id,
        channel="page",
        now=now,
        lifetime=timedelta(seconds=settings.session_max_age),
        client=client_address(request),
        user_agent=user_agent(request),
    )
    default = "/staff" if found_kind == "staff" else "/me"
    response = RedirectResponse(safe_next(next if next != "/" else None, default), status_code=303)
    set_session_cookie(response, opened.token, max_age=settings.session_max_age)
    return response


def _end_cookie_session(request: Request, session: SessionDep, now: NowDep) -> None:
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        found = accounts_service.principal_for_token(session, token=old, channel="page", now=now)
        if found is not None and found.session_id is not None:
            accounts_service.end_session(session, session_id=found.session_id, now=now)


@router.post("/logout")
def logout(session: SessionDep, now: NowDep, who: OptionalPrincipal) -> Response:
    """End this login on the server (a copy of the cookie stops working too) and forget it."""
    if who is not None and who.session_id is not None:
        accounts_service.end_session(session, session_id=who.session_id, now=now)
    response = RedirectResponse("/", status_code=303)
    clear_session_cookie(response)
    return response


@router.get("/me/sessions", response_class=HTMLResponse)
def my_sessions(
    request: Request, session: SessionDep, now: NowDep, who: CurrentPrincipal
) -> Response:
    """Where and when one is logged in (pages and API tokens), with a button to end each, and
    "log out everywhere"."""
    rows = accounts_service.list_sessions(
        session, kind=who.kind, account_id=who.id, now=now, current=who.session_id
    )
    tz = circulation_service.library_tz(session)
    return render(request, "accounts/sessions.html", {"sessions": session_rows(rows, tz)})


@router.post("/me/sessions/{session_id}/end")
def end_my_session(
    session_id: Id, session: SessionDep, now: NowDep, who: CurrentPrincipal
) -> Response:
    """End one of one's logins; ending the one in use logs out."""
    accounts_service.revoke_own_session(session, principal=who, session_id=session_id, now=now)
    if session_id == who.session_id:
        response = RedirectResponse("/", status_code=303)
        clear_session_cookie(response)
        return response
    return RedirectResponse("/me/sessions", status_code=303)


@router.post("/me/sessions/end-all")
def log_out_everywhere(session: SessionDep, now: NowDep, who: CurrentPrincipal) -> Response:
    """End every login and API token of one's account, this one included."""
    accounts_service.log_out_everywhere(session, principal=who, now=now)
    response = RedirectResponse("/login?everywhere=1", status_code=303)
    clear_session_cookie(response)
    return response


@router.get("/me/qr", response_class=HTMLResponse)
def my_qr_fragment(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    reader: CurrentReader,
    qr: QRSigner,
) -> Response:
    """The QR card alone, which the page swaps in (htmx) before the old code expires."""
    code = reader_qr(session, reader, settings=settings, qr=qr)
    return render(request, "accounts/_qr.html", {"qr": code})


@router.post("/me/password", response_class=HTMLResponse)
def my_password(
    session: SessionDep,
    now: NowDep,
    who: CurrentPrincipal,
    current_password: Annotated[str, Form()],
    new_password: Annotated[str, Form()],
) -> Response:
    """Change one's own password: every login and token ends, this one included."""
    accounts_service.change_password(
        session, principal=who, current=current_password, new=new_password, now=now
    )
    response = RedirectResponse("/login?changed=1", status_code=303)
    clear_session_cookie(response)
    return response
