"""Reader and staff pages. Thin: parse the form, call one service operation, render."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from shulian.accounts import service as accounts_service
from shulian.accounts.api import QRSigner, login, reader_qr
from shulian.accounts.schemas import LoginRequest, ReaderCreate
from shulian.consortium import service as consortium_service
from shulian.consortium.schemas import BranchKind
from shulian.core import i18n
from shulian.core.deps import (
    CurrentPrincipal,
    CurrentReader,
    NowDep,
    OptionalPrincipal,
    SessionDep,
    SettingsDep,
    StaffUser,
    require,
)
from shulian.core.errors import ShulianError
from shulian.core.security import Principal
from shulian.web import catalog_views, circulation_pages
from shulian.web.forms import error_text as _error_text, safe_next
from shulian.web.render import LANG_COOKIE, render

router = APIRouter(include_in_schema=False)

KIND_LABELS = {
    BranchKind.CENTRAL: "Central library",
    BranchKind.BRANCH: "Branch",
    BranchKind.SELF_SERVICE: "24-hour self-service library",
    BranchKind.DELIVERY_POINT: "Delivery point",
}


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, now: NowDep, who: OptionalPrincipal) -> Response:
    branches = consortium_service.list_branches(session)
    today = now.date()
    open_today = {
        b.code: consortium_service.is_open_on(session, code=b.code, day=today) for b in branches
    }
    ctx = {
        "branches": branches,
        "open_today": open_today,
        "kinds": KIND_LABELS,
        "hot": request.app.state.search.hot_terms(session, now=now),
        "arrivals": catalog_views.new_arrivals(session),
    }
    return render(request, "home.html", ctx)


@router.get("/branches", response_class=HTMLResponse)
def network(request: Request, session: SessionDep, who: OptionalPrincipal) -> Response:
    return render(
        request,
        "branches.html",
        {"tree": consortium_service.branch_tree(session), "kinds": KIND_LABELS},
    )


@router.get("/branches/{code}", response_class=HTMLResponse)
def branch_page(
    code: str, request: Request, session: SessionDep, now: NowDep, who: OptionalPrincipal
) -> Response:
    branch = consortium_service.get_branch_by_code(session, code)
    cal = consortium_service.calendar(
        session, code=branch.code, start=now.date(), end=now.date() + timedelta(days=60)
    )
    return render(request, "branch.html", {"branch": branch, "calendar": cal, "kinds": KIND_LABELS})


@router.get("/lang/{code}")
def switch_language(code: str, settings: SettingsDep, next: str = "/") -> Response:
    lang = i18n.parse_language(code) or settings.default_language
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax")
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request, who: OptionalPrincipal, next: str = "/", kind: str = "reader"
) -> Response:
    return render(request, "login.html", {"next": safe_next(next), "kind": kind, "error": None})


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
    try:
        body = LoginRequest(kind=kind, account=account, password=password)
        found_kind, account_id, version = login(
            session, body, request=request, settings=settings, now=now
        )
    except (ShulianError, ValidationError) as exc:
        status = exc.status_code if isinstance(exc, ShulianError) else 422
        ctx = {"next": safe_next(next), "kind": kind, "error": _error_text(exc), "account": account}
        return render(request, "login.html", ctx, status_code=status)
    request.session.clear()
    request.session["auth"] = {"k": found_kind, "i": account_id, "v": version}
    default = "/staff" if found_kind == "staff" else "/me"
    return RedirectResponse(safe_next(next if next != "/" else None, default), status_code=303)


@router.post("/logout")
def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/", status_code=303)


@router.get("/me", response_class=HTMLResponse)
def my_account(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    reader: CurrentReader,
    qr: QRSigner,
) -> Response:
    """My library: the reader card and QR code, then loans, holds, fines and history."""
    return circulation_pages.my_library_page(
        request, session, settings=settings, reader=reader, qr=qr, now=now
    )


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
    return render(request, "_qr.html", {"qr": code})


@router.post("/me/password", response_class=HTMLResponse)
def my_password(
    request: Request,
    session: SessionDep,
    now: NowDep,
    who: CurrentPrincipal,
    current_password: Annotated[str, Form()],
    new_password: Annotated[str, Form()],
) -> Response:
    accounts_service.change_password(
        session, principal=who, current=current_password, new=new_password, now=now
    )
    request.session.clear()
    return RedirectResponse("/login?changed=1", status_code=303)


@router.get("/staff", response_class=HTMLResponse)
def staff_home(request: Request, staff: StaffUser) -> Response:
    return render(request, "staff/home.html", {})


@router.get("/staff/readers", response_class=HTMLResponse)
def staff_readers(
    request: Request,
    session: SessionDep,
    staff: Annotated[Principal, require("accounts.reader.read")],
    q: str = "",
    page: int = 1,
) -> Response:
    result = accounts_service.list_readers(session, query=q, page=page, size=20)
    template = (
        "staff/_reader_rows.html" if request.headers.get("hx-request") else "staff/readers.html"
    )
    return render(request, template, _readers_context(session, result, q))


def _readers_context(session: SessionDep, result: object, q: str) -> dict[str, object]:
    return {
        "result": result,
        "q": q,
        "categories": accounts_service.list_categories(session),
        "branches": consortium_service.list_branches(session),
        "error": None,
        "form": {},
    }


@router.post("/staff/readers", response_class=HTMLResponse)
def staff_register_reader(
    request: Request,
    session: SessionDep,
    now: NowDep,
    staff: Annotated[Principal, require("accounts.reader.manage")],
    card_number: Annotated[str, Form()],
    name: Annotated[str, Form()],
    category: Annotated[str, Form()],
    home_branch: Annotated[str, Form()],
    expires_on: Annotated[date, Form()],
    phone: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    form = {
        "card_number": card_number,
        "name": name,
        "category": category,
        "home_branch": home_branch,
        "expires_on": expires_on,
        "phone": phone,
        "email": email,
    }
    try:
        data = ReaderCreate(**form, password=password or None)
        reader = accounts_service.register_reader(session, data=data, actor=staff.actor, now=now)
    except (ShulianError, ValidationError) as exc:
        session.rollback()
        ctx = _readers_context(session, accounts_service.list_readers(session), "")
        ctx.update(error=_error_text(exc), form=form)
        return render(request, "staff/readers.html", ctx, status_code=400)
    return RedirectResponse(f"/staff/readers/{reader.id}", status_code=303)


@router.get("/staff/readers/{reader_id}", response_class=HTMLResponse)
def staff_reader(
    reader_id: int,
    request: Request,
    session: SessionDep,
    staff: Annotated[Principal, require("accounts.reader.read")],
) -> Response:
    reader = accounts_service.reader_read(session, accounts_service.get_reader(session, reader_id))
    return render(request, "staff/reader.html", {"reader": reader})
