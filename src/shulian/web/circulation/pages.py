"""Circulation pages for readers: "my library" (``/me``: loans with renewals, holds, fines, the
opt-in reading history) and placing a hold from a record's page.

Readers reach only their own account (``CurrentReader``); anyone else is sent to log in. Each
change is a plain form post answered with a redirect back (or the page again, with the refusal
and its reason), so the pages work without JavaScript on any phone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from shulian.accounts import service as accounts_service
from shulian.accounts.api import QRSigner, reader_qr
from shulian.catalog import service as catalog_service
from shulian.circulation import service
from shulian.circulation.schemas import PreferencesUpdate
from shulian.core.bounds import Id
from shulian.core.config import Settings
from shulian.core.deps import CurrentReader, NowDep, SessionDep, SettingsDep
from shulian.core.errors import ShulianError
from shulian.core.security import Principal, Signer
from shulian.web.circulation.views import Clock, money, pickup_branches
from shulian.web.consortium.views import branch_names
from shulian.web.forms import error_text
from shulian.web.notify import views as notify_views
from shulian.web.render import render

router = APIRouter(include_in_schema=False)
Barcode = Annotated[str, Path(min_length=1, max_length=64)]
#: What a redirect back to "my library" says was done (never text from the request).
DONE = ("hold_placed", "hold_cancelled", "history_on", "history_off", "notices_saved")


def my_library_page(
    request: Request,
    session: Session,
    *,
    settings: Settings,
    reader: Principal,
    qr: Signer,
    now: datetime,
    error: str | None = None,
    refusals: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The whole "my library" page: card and QR code, details, then loans, holds, fines, the
    reading history and how the reader gets notices."""
    account = accounts_service.reader_read(session, accounts_service.get_reader(session, reader.id))
    circ = service.reader_account(session, reader_id=reader.id, now=now)
    blocks = service.reader_blocks(session, reader_id=reader.id, now=now)
    history = (
        service.reading_history(session, reader_id=reader.id, now=now).loans
        if circ.keep_history
        else []
    )
    options = {o.name: o.value for o in service.list_options(session)}
    done = request.query_params.get("done", "")
    ctx: dict[str, Any] = {
        "account": account,
        "qr": reader_qr(session, reader, settings=settings, qr=qr),
        "message": None,
        "circ": circ,
        "blocks": [e.localized() for e in blocks],
        "history": history,
        "history_days": options["history_days"],
        "clock": Clock(service.library_tz(session)),
        "money": money,
        "branch_names": branch_names(session),
        "done": done if done in DONE else "",
        "renewed": request.query_params.get("renewed", ""),
        "error": error,
        "refusals": refusals or {},
        "notices": notify_views.preferences_context(session, reader.id, settings),
    }
    return render(request, "circulation/me.html", ctx, status_code=status_code)


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
    return my_library_page(request, session, settings=settings, reader=reader, qr=qr, now=now)


def _refused(
    request: Request,
    session: Session,
    exc: ShulianError,
    *,
    settings: Settings,
    reader: Principal,
    qr: Signer,
    now: datetime,
    barcode: str | None = None,
) -> Response:
    session.rollback()
    text = error_text(exc)
    return my_library_page(
        request,
        session,
        settings=settings,
        reader=reader,
        qr=qr,
        now=now,
        error=None if barcode else text,
        refusals={barcode: text} if barcode else None,
        status_code=exc.status_code,
    )


@router.post("/me/loans/{barcode}/renew", response_class=HTMLResponse)
def renew(
    barcode: Barcode,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    reader: CurrentReader,
    qr: QRSigner,
) -> Response:
    """Renew one of my loans; a refusal shows its reason under the loan."""
    try:
        service.renew(session, reader_id=reader.id, barcode=barcode, actor=reader.actor, now=now)
    except ShulianError as exc:
        return _refused(
            request, session, exc, settings=settings, reader=reader, qr=qr, now=now, barcode=barcode
        )
    return RedirectResponse(f"/me?renewed={quote(barcode)}#loans", status_code=303)


@router.post("/me/holds/{hold_id}/cancel", response_class=HTMLResponse)
def cancel_hold(
    hold_id: Id,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    reader: CurrentReader,
    qr: QRSigner,
) -> Response:
    try:
        service.cancel_hold(
            session, hold_id=hold_id, reader_id=reader.id, actor=reader.actor, now=now
        )
    except ShulianError as exc:
        return _refused(request, session, exc, settings=settings, reader=reader, qr=qr, now=now)
    return RedirectResponse("/me?done=hold_cancelled#holds", status_code=303)


@router.post("/me/history", response_class=HTMLResponse)
def keep_history(
    session: SessionDep,
    now: NowDep,
    reader: CurrentReader,
    keep: Annotated[str, Form(max_length=3)] = "off",
) -> Response:
    """Turn the reading history on or off (it is off until the reader turns it on)."""
    on = keep == "on"
    service.set_preferences(
        session,
        reader_id=reader.id,
        data=PreferencesUpdate(keep_history=on),
        actor=reader.actor,
        now=now,
    )
    return RedirectResponse(f"/me?done=history_{'on' if on else 'off'}#history", status_code=303)


@router.post("/records/{record_id}/hold", response_class=HTMLResponse)
def place_hold(
    record_id: Id,
    request: Request,
    session: SessionDep,
    now: NowDep,
    reader: CurrentReader,
    pickup_branch: Annotated[str, Form(min_length=1, max_length=32)],
) -> Response:
    """预约: join the queue for any copy of the title, to collect at ``pickup_branch``."""
    try:
        service.place_hold(
            session,
            reader_id=reader.id,
            record_id=record_id,
            pickup_branch=pickup_branch,
            actor=reader.actor,
            now=now,
        )
    except ShulianError as exc:
        session.rollback()
        detail = catalog_service.record_detail(session, record_id, published_only=True)
        ctx = {
            "d": detail,
            "r": detail.record,
            "pickup_branches": pickup_branches(session),
            "pickup": pickup_branch,
            "hold_error": error_text(exc),
        }
        return render(request, "catalog/record.html", ctx, status_code=exc.status_code)
    return RedirectResponse("/me?done=hold_placed#holds", status_code=303)
