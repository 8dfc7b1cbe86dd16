"""Tables of the notice outbox: the notices waiting to go out (and those sent or given up),
and each reader's choice of channels and notice language."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shulian.core.db import Base, UTCDateTime, enum_column
from shulian.notify.types import FailureKind, NoticeStatus


class Notice(Base):
    """A message to a reader waiting in the outbox. ``key`` is unique, so the same notice (this
    hold is ready; this loan is due on that day) is never queued twice, even after a crash. It
    holds what the message is about (titles, dates, branch codes), never contact details: those
    are read from the reader's account when it is sent."""

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    reader_id: Mapped[int] = mapped_column(ForeignKey("readers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # registered by a domain: hold_ready, ...
    channel: Mapped[str] = mapped_column(String(20))  # email | webhook
    context: Mapped[dict[str, Any]] = mapped_column(JSON)  # titles, dates; no contact details
    status: Mapped[NoticeStatus] = mapped_column(enum_column(NoticeStatus))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")
    error_kind: Mapped[FailureKind] = mapped_column(
        enum_column(FailureKind), default=FailureKind.NONE, server_default=""
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class NoticePreference(Base):
    """How a reader wants to be told: channels, and the language of notices (None: the
    library's). A reader without a row gets e-mail in the library's language."""

    __tablename__ = "notice_preferences"

    reader_id: Mapped[int] = mapped_column(ForeignKey("readers.id"), primary_key=True)
    email: Mapped[bool] = mapped_column(Boolean, default=True)
    webhook: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str | None] = mapped_column(String(8))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
