"""Operations on the notice outbox: the only door other packages use. Callers own the
transaction; nothing here commits.

Domains queue notices with :func:`enqueue` in the transaction that makes them due; delivery
(``shulian.notify.delivery``) sends them. Readers choose their channels and the language of
their notices (:func:`set_preferences`); staff read the outbox (:func:`outbox`,
:func:`outbox_counts`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shulian.accounts import service as accounts_service
from shulian.core import events
from shulian.core.i18n import Language, parse_language
from shulian.notify.errors import UnknownNoticeStatus
from shulian.notify.models import Notice, NoticePreference
from shulian.notify.schemas import (
    NoticePreferencesRead,
    NoticePreferencesUpdate,
    NoticeRead,
    OutboxPage,
)
from shulian.notify.types import Channel, NoticeStatus


def _preference(session: Session, reader_id: int) -> NoticePreference | None:
    return session.get(NoticePreference, reader_id)


def channels_for(session: Session, reader_id: int) -> list[Channel]:
    """The channels a reader wants notices on (e-mail unless they chose otherwise)."""
    pref = _preference(session, reader_id)
    if pref is None:
        return [Channel.EMAIL]
    return [c for c, on in ((Channel.EMAIL, pref.email), (Channel.WEBHOOK, pref.webhook)) if on]


def reader_language(session: Session, reader_id: int) -> Language | None:
    """The language the reader wants notices in, or None for the library's."""
    pref = _preference(session, reader_id)
    return parse_language(pref.language) if pref is not None else None


def preferences(session: Session, reader_id: int) -> NoticePreferencesRead:
    """Raises: ReaderNotFound."""
    accounts_service.get_reader(session, reader_id)
    pref = _preference(session, reader_id)
    if pref is None:
        return NoticePreferencesRead(email=True, webhook=False, language=None)
    return NoticePreferencesRead(
        email=pref.email, webhook=pref.webhook, language=parse_language(pref.language)
    )


def set_preferences(
    session: Session,
    *,
    reader_id: int,
    data: NoticePreferencesUpdate,
    actor: str,
    now: datetime,
) -> NoticePreferencesRead:
    """Change what is given in ``data`` (a field left unset keeps its value; ``language`` set
    to None means the library's). Raises: ReaderNotFound."""
    accounts_service.get_reader(session, reader_id)
    pref = _preference(session, reader_id)
    if pref is None:
        pref = NoticePreference(reader_id=reader_id, email=True, webhook=False, language=None)
        session.add(pref)
    changes = data.model_dump(exclude_unset=True)
    for name in ("email", "webhook"):
        if changes.get(name) is not None:
            setattr(pref, name, changes[name])
    if "language" in changes:
        pref.language = changes["language"]
    pref.updated_at = now
    session.flush()
    events.record(
        session,
        type="notify.preferences.updated",
        now=now,
        actor=actor,
        subject=f"reader:{reader_id}",
        payload={"email": pref.email, "webhook": pref.webhook, "language": pref.language},
    )
    return preferences(session, reader_id)


def enqueue(
    session: Session,
    *,
    reader_id: int,
    kind: str,
    key: str,
    context: dict[str, Any],
    now: datetime,
) -> list[int]:
    """Queue a notice on each channel the reader wants; a key already queued is skipped.

    ``key`` names what the notice is about, unique for it (``hold_ready:hold:12``,
    ``due_soon:loan:7:2026-11-30``); the channel is appended. ``context`` holds what the message
    says (titles, dates, branch codes), never contact details. Returns the new notices' ids."""
    out = []
    for channel in channels_for(session, reader_id):
        full_key = f"{key}:{channel}"
        if session.scalars(select(Notice.id).where(Notice.key == full_key)).first():
            continue
        notice = Notice(
            key=full_key,
            reader_id=reader_id,
            kind=kind,
            channel=channel.value,
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
    return [n.id for n in out]


def due_count(session: Session, *, now: datetime) -> int:
    """How many notices wait to be sent at ``now`` (a cheap read before taking the write lock;
    also the delivery worker's lag)."""
    return int(
        session.scalar(
            select(func.count(Notice.id)).where(
                Notice.status == NoticeStatus.PENDING, Notice.next_attempt_at <= now
            )
        )
        or 0
    )


def outbox_counts(session: Session) -> dict[NoticeStatus, int]:
    """How many notices are in each state."""
    rows = session.execute(select(Notice.status, func.count(Notice.id)).group_by(Notice.status))
    found = {NoticeStatus(status): int(n) for status, n in rows}
    return {status: found.get(status, 0) for status in NoticeStatus}


def outbox(
    session: Session, *, status: str | None = None, page: int = 1, size: int = 50
) -> OutboxPage:
    """The outbox, newest first, optionally of one state. Raises: UnknownNoticeStatus."""
    stmt = select(Notice)
    count = select(func.count(Notice.id))
    if status:
        try:
            wanted = NoticeStatus(status)
        except ValueError:
            raise UnknownNoticeStatus(status) from None
        stmt, count = stmt.where(Notice.status == wanted), count.where(Notice.status == wanted)
    page, size = max(1, page), max(1, min(size, 200))
    rows = list(
        session.scalars(
            stmt.order_by(Notice.created_at.desc(), Notice.id.desc())
            .offset((page - 1) * size)
            .limit(size)
        )
    )
    readers = {
        rid: accounts_service.get_reader(session, rid) for rid in {n.reader_id for n in rows}
    }
    return OutboxPage(
        items=[
            NoticeRead(
                id=n.id,
                kind=n.kind,
                channel=n.channel,
                card_number=readers[n.reader_id].card_number,
                status=n.status,
                attempts=n.attempts,
                created_at=n.created_at,
                next_attempt_at=n.next_attempt_at,
                sent_at=n.sent_at,
                error_kind=n.error_kind,
                last_error=n.last_error,
            )
            for n in rows
        ],
        total=int(session.scalar(count) or 0),
        page=page,
        size=size,
        counts=outbox_counts(session),
    )
