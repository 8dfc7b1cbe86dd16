"""The notice outbox: notices are queued in the transaction that makes them due (a hold comes
ready) or by the daily scan (due soon, overdue), and a sender delivers them.

``key`` is unique per notice (``hold_ready:hold:12``, ``due_soon:loan:7:2026-11-30``), so the
same notice is never queued twice, however often the scan runs or a process restarts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shulian.circulation.models import Notice, ReaderPreference
from shulian.circulation.types import NoticeStatus

KINDS = ("due_soon", "overdue", "hold_ready")


def channels_for(session: Session, reader_id: int) -> list[str]:
    pref = session.get(ReaderPreference, reader_id)
    if pref is None:
        return ["email"]
    out = []
    if pref.notify_email:
        out.append("email")
    if pref.notify_webhook:
        out.append("webhook")
    return out


def enqueue(
    session: Session,
    *,
    reader_id: int,
    kind: str,
    key: str,
    context: dict[str, Any],
    now: datetime,
) -> list[Notice]:
    """Queue a notice on each channel the reader wants; a key already queued is skipped.
    ``context`` holds what the message says (titles, dates, branch), never contact details."""
    out = []
    for channel in channels_for(session, reader_id):
        full_key = f"{key}:{channel}"
        if session.scalars(select(Notice.id).where(Notice.key == full_key)).first():
            continue
        notice = Notice(
            key=full_key,
            reader_id=reader_id,
            kind=kind,
            channel=channel,
            context=context,
            status=NoticeStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            last_error="",
            created_at=now,
        )
        session.add(notice)
        out.append(notice)
    session.flush()
    return out
