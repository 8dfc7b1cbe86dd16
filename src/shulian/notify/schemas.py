"""Shapes of the notice outbox on the wire: a reader's notice preferences, the staff outbox."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from shulian.core.i18n import Language
from shulian.notify.types import (
    Channel as Channel,
    FailureKind as FailureKind,
    NoticeStatus as NoticeStatus,
)


class NoticePreferencesRead(BaseModel):
    """How a reader is told: on which channels, and in which language (None: the library's)."""

    email: bool
    webhook: bool
    language: Language | None


class NoticePreferencesUpdate(BaseModel):
    """Fields left out keep their value; ``language: null`` means the library's language."""

    email: bool | None = None
    webhook: bool | None = None
    language: Language | None = None


class NoticeRead(BaseModel):
    """One notice in the outbox, as staff see it: no contact details, no message text."""

    id: int
    kind: str
    channel: str
    card_number: str
    status: NoticeStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    error_kind: FailureKind
    last_error: str


class OutboxPage(BaseModel):
    items: list[NoticeRead]
    total: int
    page: int
    size: int
    counts: dict[NoticeStatus, int]
