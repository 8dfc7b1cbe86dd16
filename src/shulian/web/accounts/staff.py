"""Readers for staff: the list with its search box (htmx swaps in the rows), registering a
reader (``accounts.reader.manage``) and one reader's page (``accounts.reader.read``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from shulian.accounts import service as accounts_service
from shulian.accounts.schemas import ReaderCreate
from shulian.consortium import service as consortium_service
from shulian.core.bounds import Id, Page
from shulian.core.deps import NowDep, SessionDep, require
from shulian.core.errors import ShulianError
from shulian.core.security import Principal
from shulian.web.forms import error_text
from shulian.web.render import render

router = APIRouter(include_in_schema=False)


@router.get("/staff/readers", response_class=HTMLResponse)
def staff_readers(
    request: Request,
    session: SessionDep,
    staff: Annotated[Principal, require("accounts.reader.read")],
    q: str = "",
    page: Page = 1,
) -> Response:
    result = accounts_service.list_readers(session, query=q, page=page, size=20)
    template = (
        "accounts/staff/_reader_rows.html"
        if request.headers.get("hx-request")
        else "accounts/staff/readers.html"
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
    """Register a reader and open their page; a refusal shows the form again as typed."""
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
        ctx.update(error=error_text(exc), form=form)
        return render(request, "accounts/staff/readers.html", ctx, status_code=400)
    return RedirectResponse(f"/staff/readers/{reader.id}", status_code=303)


@router.get("/staff/readers/{reader_id}", response_class=HTMLResponse)
def staff_reader(
    reader_id: Id,
    request: Request,
    session: SessionDep,
    staff: Annotated[Principal, require("accounts.reader.read")],
) -> Response:
    reader = accounts_service.reader_read(session, accounts_service.get_reader(session, reader_id))
    return render(request, "accounts/staff/reader.html", {"reader": reader})
