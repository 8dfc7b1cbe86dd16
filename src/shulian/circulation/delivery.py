"""Delivering the notice outbox (``notices``): e-mail over SMTP, or a signed webhook for SMS and
WeChat gateways (``shulian.circulation.transports``).

The contract is *at least once, with an idempotency key*:

1. **Claim.** In a transaction of its own, a worker takes a small batch of pending notices that
   are due (``next_attempt_at <= now``) and leases each one: ``attempts`` goes up by one and
   ``next_attempt_at`` moves ``lease`` ahead. On PostgreSQL the batch is read with
   ``SELECT ... FOR UPDATE SKIP LOCKED``, so two workers never take the same notice; SQLite has
   a single writer. The reader's e-mail address and phone are looked up now (a notice never
   stores them) and the message is written. The claim commits before anything is sent.
2. **Send**, outside any transaction. The e-mail's ``Message-ID`` and the webhook's
   ``Idempotency-Key`` header are derived from the notice's unique ``key``: the same on every
   attempt.
3. **Record**, in one more short transaction: ``sent``; or, after a failure, waiting again with
   ``next_attempt_at`` pushed back by the backoff (1 min, 5 min, 30 min, 2 h, 6 h) and the reason
   in ``last_error``; or ``failed`` after ``max_attempts``, or at once when another try cannot
   help (the reader has no e-mail address, the channel is not set up, the receiver refused the
   message for good). A result is recorded only while the lease is still this worker's (the
   notice's ``attempts`` unchanged). A notice no longer true when its turn comes (the loan was
   returned or renewed, the hold collected or expired) is marked ``obsolete`` at the claim.

A worker that dies between 1 and 3 leaves its notices leased: nobody sends them while the lease
holds, and once it runs out they are sent again with the same Message-ID / Idempotency-Key, so a
receiver that keeps those can drop the duplicate. The unique ``key`` keeps a notice from being
queued twice. ``last_error`` and the log name the kind of failure only, never an address or a
name.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from shulian.accounts import service as accounts_service
from shulian.circulation import messages
from shulian.circulation.models import Hold, Loan, Notice
from shulian.circulation.policy import local_date
from shulian.circulation.service import library_tz
from shulian.circulation.transports import DeliveryError, Outgoing, Transport
from shulian.circulation.types import HoldStatus, NoticeStatus
from shulian.consortium import service as consortium_service
from shulian.core.db import session_scope
from shulian.core.errors import NotFound
from shulian.core.i18n import Language

log = logging.getLogger("shulian.notices")


@dataclass(frozen=True)
class DeliveryPolicy:
    """How hard to try. ``backoff[n]`` is the wait after the (n+1)th failed attempt (the last one
    repeats); ``lease`` must outlast one send (the SMTP timeout is 30 s)."""

    batch_size: int = 20
    max_per_run: int = 500
    max_attempts: int = 6
    lease: timedelta = timedelta(minutes=5)
    backoff: tuple[timedelta, ...] = (
        timedelta(minutes=1),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=6),
    )

    def retry_after(self, attempts: int) -> timedelta:
        return self.backoff[min(max(attempts, 1), len(self.backoff)) - 1]


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0  # failed this time, tried again later
    failed: int = 0  # given up
    obsolete: int = 0  # not sent: no longer true (the loan was returned, the hold collected)
    lost: int = 0  # sent, but the lease had run out and another worker owns the notice now

    def __str__(self) -> str:
        text = f"{self.sent} sent, {self.retrying} to retry, {self.failed} failed"
        text += f", {self.obsolete} no longer needed" if self.obsolete else ""
        return text + (f", {self.lost} leases lost" if self.lost else "")


def due_count(session: Session, *, now: datetime) -> int:
    """How many notices wait to be sent at ``now`` (a cheap read before taking the write lock)."""
    return int(
        session.scalar(
            select(func.count(Notice.id)).where(
                Notice.status == NoticeStatus.PENDING, Notice.next_attempt_at <= now
            )
        )
        or 0
    )


def deliver_notices(
    factory: sessionmaker[Session],
    *,
    now: datetime,
    transports: Mapping[str, Transport],
    language: Language = "zh-CN",
    policy: DeliveryPolicy = DeliveryPolicy(),  # frozen, so safe to share
) -> DeliveryReport:
    """Send the notices due at ``now`` (at most ``policy.max_per_run``), batch by batch, as the
    module docstring describes. ``transports`` maps a channel (``email``, ``webhook``) to how it
    is sent; a notice on a channel not given fails. Connections are closed at the end."""
    report = DeliveryReport()
    seen = 0
    try:
        while seen < policy.max_per_run:
            with session_scope(factory) as session:
                taken, batch = _claim(
                    session,
                    now=now,
                    transports=transports,
                    language=language,
                    policy=policy,
                    limit=min(policy.batch_size, policy.max_per_run - seen),
                    report=report,
                )
            if not taken:
                break
            seen += taken
            for out in batch:
                error = _send(transports[out.channel], out)
                with session_scope(factory) as session:
                    _record(session, out, error, now=now, policy=policy, report=report)
    finally:
        for transport in transports.values():
            transport.close()
    return report


def _claim(
    session: Session,
    *,
    now: datetime,
    transports: Mapping[str, Transport],
    language: Language,
    policy: DeliveryPolicy,
    limit: int,
    report: DeliveryReport,
) -> tuple[int, list[Outgoing]]:
    """Lease up to ``limit`` due notices; returns how many were taken and those to send."""
    due = list(
        session.scalars(
            select(Notice)
            .where(Notice.status == NoticeStatus.PENDING, Notice.next_attempt_at <= now)
            .order_by(Notice.next_attempt_at, Notice.id)
            .limit(limit)
            .with_for_update(skip_locked=True)  # rendered on PostgreSQL only
        )
    )
    if not due:
        return 0, []
    tz = library_tz(session)
    today = local_date(now, tz)
    batch = []
    for notice in due:
        if notice.attempts >= policy.max_attempts:
            # The last attempt's worker never reported back: it may or may not have gone out.
            _fail(notice, "no result from the last attempt", report)
            continue
        if notice.channel not in transports:
            _fail(notice, f"the {notice.channel} channel is not configured", report)
            continue
        reason = _obsolete(session, notice, tz)
        if reason is not None:
            notice.status = NoticeStatus.OBSOLETE
            notice.last_error = reason
            report.obsolete += 1
            continue
        reader = accounts_service.get_reader(session, notice.reader_id)
        if notice.channel == "email" and not reader.email:
            _fail(notice, "reader has no e-mail address", report)
            continue
        try:
            subject, body = messages.render(
                notice.kind,
                notice.context,
                name=reader.name,
                branch=_branch_name(session, str(notice.context.get("branch") or ""), language),
                today=today,
                tz=tz,
                language=language,
            )
        except (messages.UnknownNoticeKind, KeyError, ValueError) as exc:
            _fail(notice, f"cannot write a {notice.kind} notice ({type(exc).__name__})", report)
            continue
        notice.attempts += 1
        notice.next_attempt_at = now + policy.lease
        batch.append(
            Outgoing(
                notice_id=notice.id,
                key=notice.key,
                attempts=notice.attempts,
                kind=notice.kind,
                channel=notice.channel,
                language=language,
                subject=subject,
                body=body,
                sent_at=now,
                email=reader.email,
                phone=reader.phone,
                card_number=reader.card_number,
                context=dict(notice.context),
            )
        )
    session.flush()
    return len(due), batch


def _obsolete(session: Session, notice: Notice, tz: ZoneInfo) -> str | None:
    """Why the notice no longer holds true, if it does not: the keys name what they are about
    (``hold_ready:hold:<id>``, ``<kind>:loan:<id>:<due day>``, see ``notices``)."""
    parts = notice.key.split(":")
    if len(parts) < 4 or not parts[2].isdigit():
        return None
    if parts[1] == "hold":
        hold = session.get(Hold, int(parts[2]))
        if hold is None or hold.status is not HoldStatus.READY:
            return "the hold is no longer on the hold shelf"
    elif parts[1] == "loan" and len(parts) >= 5:
        loan = session.get(Loan, int(parts[2]))
        if loan is None or loan.returned_at is not None:
            return "the loan was returned"
        if local_date(loan.due_at, tz).isoformat() != parts[3]:
            return "the loan is due on another day now"
    return None


def _branch_name(session: Session, code: str, language: Language) -> str:
    if not code:
        return ""
    try:
        branch = consortium_service.get_branch_by_code(session, code)
    except NotFound:
        return code
    return branch.name_zh if language == "zh-CN" else branch.name_en


def _fail(notice: Notice, reason: str, report: DeliveryReport) -> None:
    notice.status = NoticeStatus.FAILED
    notice.last_error = reason
    report.failed += 1
    log.warning("notice %s (%s, %s) failed: %s", notice.id, notice.kind, notice.channel, reason)


def _send(transport: Transport, out: Outgoing) -> DeliveryError | None:
    try:
        transport.send(out)
    except DeliveryError as exc:
        return exc
    except Exception as exc:  # a fault of ours or a library's: retried, and named in the log
        log.error("notice %s: unexpected %s while sending", out.notice_id, type(exc).__name__)
        return DeliveryError(f"unexpected {type(exc).__name__}")
    return None


def _record(
    session: Session,
    out: Outgoing,
    error: DeliveryError | None,
    *,
    now: datetime,
    policy: DeliveryPolicy,
    report: DeliveryReport,
) -> None:
    if error is None:
        values: dict[str, object] = {
            "status": NoticeStatus.SENT,
            "sent_at": now,
            "last_error": "",
        }
    elif error.permanent or out.attempts >= policy.max_attempts:
        values = {"status": NoticeStatus.FAILED, "last_error": error.reason}
    else:
        values = {
            "next_attempt_at": now + policy.retry_after(out.attempts),
            "last_error": error.reason,
        }
    result = session.execute(
        update(Notice)
        .where(
            Notice.id == out.notice_id,
            Notice.attempts == out.attempts,
            Notice.status == NoticeStatus.PENDING,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        report.lost += 1
        log.warning("notice %s: the lease ran out before the result was recorded", out.notice_id)
        return
    if error is None:
        report.sent += 1
        log.info("notice %s (%s, %s) sent", out.notice_id, out.kind, out.channel)
    elif values.get("status") is NoticeStatus.FAILED:
        report.failed += 1
        log.warning(
            "notice %s (%s, %s) failed after %s attempts: %s",
            out.notice_id,
            out.kind,
            out.channel,
            out.attempts,
            error.reason,
        )
    else:
        report.retrying += 1
        log.info(
            "notice %s (%s, %s) attempt %s failed, retried later: %s",
            out.notice_id,
            out.kind,
            out.channel,
            out.attempts,
            error.reason,
        )
