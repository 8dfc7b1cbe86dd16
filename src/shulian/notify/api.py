"""HTTP API of the notice outbox: a reader's own notice preferences, and the outbox for staff
who hold ``notify.outbox.read``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from shulian.core.deps import CurrentReader, NowDep, SessionDep, require
from shulian.core.security import Principal
from shulian.notify import service
from shulian.notify.schemas import NoticePreferencesRead, NoticePreferencesUpdate, OutboxPage

router = APIRouter(prefix="/api/v1/notify", tags=["notices"])
OutboxReader = Annotated[Principal, require("notify.outbox.read")]


@router.get("/me/preferences", response_model=NoticePreferencesRead)
def my_preferences(session: SessionDep, who: CurrentReader) -> NoticePreferencesRead:
    """The channels you get notices on, and their language (null: the library's)."""
    return service.preferences(session, who.id)


@router.put("/me/preferences", response_model=NoticePreferencesRead)
def set_my_preferences(
    body: NoticePreferencesUpdate, session: SessionDep, now: NowDep, who: CurrentReader
) -> NoticePreferencesRead:
    """Change your notice channels or language; fields left out keep their value."""
    return service.set_preferences(session, reader_id=who.id, data=body, actor=who.actor, now=now)


@router.get("/outbox", response_model=OutboxPage)
def outbox(
    session: SessionDep,
    who: OutboxReader,
    status: Annotated[str | None, Query(max_length=20)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> OutboxPage:
    """Notices newest first (optionally of one status: pending, sent, failed, obsolete), with
    the count in each status. Failures name their kind; no contact details, no message text."""
    return service.outbox(session, status=status, page=page, size=size)
