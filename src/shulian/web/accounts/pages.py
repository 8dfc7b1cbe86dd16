"""Logging in and out, the reader's QR card (swapped in by htmx before it expires) and changing
one's own password. "My library" itself (``/me``) is circulation's page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from shulian.accounts import service as accounts_service
from shulian.accounts.api import QRSigner, login, reader_qr
from shulian.accounts.schemas import LoginRequest
from shulian.core.deps import (
    CurrentPrincipal,
    CurrentReader,
    NowDep,
    OptionalPrincipal,
    SessionDep,
    SettingsDep,
)
from shulian.core.errors import ShulianError
from shulian.web.forms import error_text, safe_next
from shulian.web.render import render

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
    """Staff land on ``/staff``, readers on ``/me``, unless ``next`` (a local path) says where."""
    try:
        body = LoginRequest(kind=kind, account=account, password=password)
        found_kind, account_id, version = login(
            session, body, request=request, settings=settings, now=now
        )
    except (ShulianError, ValidationError) as exc:
        status = exc.status_code if isinstance(exc, ShulianError) else 422
        ctx = {"next": safe_next(next), "kind": kind, "error": error_text(exc), "account": account}
        return render(request, "accounts/login.html", ctx, status_code=status)
    request.session.clear()
    request.session["auth"] = {"k": found_kind, "i": account_id, "v": version}
    default = "/staff" if found_kind == "staff" else "/me"
    return RedirectResponse(safe_next(next if next != "/" else None, default), status_code=303)


@router.post("/logout")
def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/", status_code=303)


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
    request: Request,
    session: SessionDep,
    now: NowDep,
    who: CurrentPrincipal,
    current_password: Annotated[str, Form()],
    new_password: Annotated[str, Form()],
) -> Response:
    """Change one's own password: every other login and token stops working, and this one logs
    out."""
    accounts_service.change_password(
        session, principal=who, current=current_password, new=new_password, now=now
    )
    request.session.clear()
    return RedirectResponse("/login?changed=1", status_code=303)
