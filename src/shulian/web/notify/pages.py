"""The notice pages: a reader saves their notice channels and language (``POST /me/notices``,
shown on "my library"), and staff read the outbox (``/staff/notices``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shulian.circulation import service as circulation_service
from shulian.core.deps import CurrentReader, NowDep, SessionDep, require
from shulian.core.i18n import parse_language
from shulian.core.security import Principal
from shulian.notify import service as notify_service
from shulian.notify.schemas import NoticePreferencesUpdate, NoticeStatus
from shulian.web.circulation.views import Clock
from shulian.web.notify.views import CHANNEL_LABELS, DETAILED, FAILURE_LABELS, STATUS_LABELS
from shulian.web.render import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


@router.post("/me/notices", response_class=HTMLResponse)
def save_my_notice_preferences(
    session: SessionDep,
    now: NowDep,
    reader: CurrentReader,
    language: Annotated[str, Form(max_length=10)] = "",
    email: Annotated[str, Form(max_length=5)] = "",
    webhook: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """Channels are checkboxes (ticked: sent as ``on``); the language is ``zh-CN``, ``en`` or
    empty for the library's."""
    notify_service.set_preferences(
        session,
        reader_id=reader.id,
        data=NoticePreferencesUpdate(
            email=email == "on", webhook=webhook == "on", language=parse_language(language)
        ),
        actor=reader.actor,
        now=now,
    )
    return RedirectResponse("/me?done=notices_saved#notices", status_code=303)


@router.get("/staff/notices", response_class=HTMLResponse)
def outbox_page(
    request: Request,
    session: SessionDep,
    staff: Annotated[Principal, require("notify.outbox.read")],
    status: Annotated[str, Query(max_length=20)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The outbox, newest first, filtered by state; each notice with its kind, channel, reader
    card, attempts and, when it failed, the kind of failure."""
    wanted = status if status in set(NoticeStatus) else None
    result = notify_service.outbox(session, status=wanted, page=page, size=PAGE_SIZE)
    ctx = {
        "result": result,
        "status": wanted or "",
        "statuses": list(NoticeStatus),
        "pages": max(1, -(-result.total // PAGE_SIZE)),
        "kinds": request.app.state.notice_kinds,
        "status_labels": STATUS_LABELS,
        "channel_labels": CHANNEL_LABELS,
        "failure_labels": FAILURE_LABELS,
        "detailed": {kind.value for kind in DETAILED},
        "clock": Clock(circulation_service.library_tz(session)),
    }
    return render(request, "notify/staff/outbox.html", ctx)
