"""Delivering the notice outbox (``notices``): e-mail over SMTP, or a signed webhook for SMS and
WeChat gateways (``shulian.notify.transports``).

The contract is *at least once, with an idempotency key*:

1. **Claim.** In a transaction of its own, a worker takes a small batch of pending notices that
   are due (``next_attempt_at <= now``) and leases each one: ``attempts`` goes up by one and
   ``next_attempt_at`` moves ``lease`` ahead. On PostgreSQL the batch is read with
   ``SELECT ... FOR UPDATE SKIP LOCKED``, so two workers never take the same notice; SQLite has
   a single writer. The reader's e-mail address and phone are looked up now (a notice never
   stores them) and the message is written by its kind (``shulian.notify.kinds``), in the
   reader's notice language (else the library's). The claim commits before anything is sent.
2. **Send**, outside any transaction. The e-mail's ``Message-ID`` and the webhook's
   ``Idempotency-Key`` header are derived from the notice's unique ``key``: the same on every
   attempt.
3. **Record**, in one more short transaction: ``sent``; or, after a failure, waiting again with
   ``next_attempt_at`` pushed back by the backoff (1 min, 5 min, 30 min, 2 h, 6 h) and the reason
   in ``last_error``; or ``failed`` after ``max_attempts``, or at once when another try cannot
   help (the reader has no e-mail address, the channel is not set up, the receiver refused the
   message for good). A result is recorded only while the lease is still this worker's (the
   notice's ``attempts`` unchanged). A notice no longer true when its turn comes (its kind says
   so: the loan was returned or renewed, the hold collected or expired) is marked ``obsolete``
   at the claim. Each failure records its kind (``FailureKind``) for the staff outbox page.

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

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from shulian.accounts import service as accounts_service
from shulian.core.db import session_scope
from shulian.core.i18n import Language
from shulian.notify import service
from shulian.notify.kinds import Letter, NoticeKinds, NoticeRef, UnknownNoticeKind, compose
from shulian.notify.models import Notice
from shulian.notify.transports import DeliveryError, Outgoing, Transport
from shulian.notify.types import FailureKind, NoticeStatus

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


def deliver_notices(
    factory: sessionmaker[Session],
    *,
    now: datetime,
    transports: Mapping[str, Transport],
    kinds: NoticeKinds,
    language: Language = "zh-CN",
    policy: DeliveryPolicy = DeliveryPolicy(),  # frozen, so safe to share
) -> DeliveryReport:
    """Send the notices due at ``now`` (at most ``policy.max_per_run``), batch by batch, as the
    module docstring describes. ``transports`` maps a channel (``email``, ``webhook``) to how it
    is sent; a notice on a channel not given fails. ``kinds`` writes each kind of notice;
    ``language`` is the library's, for readers who chose none. Connections are closed at the
    end."""
    report = DeliveryReport()
    seen = 0
    try:
        while seen < policy.max_per_run:
            with session_scope(factory) as session:
                taken, batch = _claim(
                    session,
                    now=now,
                    transports=transports,
                    kinds=kinds,
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
    kinds: NoticeKinds,
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
    batch = []
    for notice in due:
        if notice.attempts >= policy.max_attempts:
            # The last attempt's worker never reported back: it may or may not have gone out.
            _fail(notice, FailureKind.NO_RESULT, "no result from the last attempt", report)
            continue
        if notice.channel not in transports:
            reason = f"the {notice.channel} channel is not configured"
            _fail(notice, FailureKind.CHANNEL_OFF, reason, report)
            continue
        ref = NoticeRef(kind=notice.kind, key=notice.key, context=notice.context)
        try:
            kind = kinds[notice.kind]
        except UnknownNoticeKind:
            reason = f"cannot write a {notice.kind} notice (UnknownNoticeKind)"
            _fail(notice, FailureKind.UNWRITABLE, reason, report)
            continue
        obsolete = kind.obsolete(session, ref)
        if obsolete is not None:
            notice.status = NoticeStatus.OBSOLETE
            notice.last_error = obsolete
            report.obsolete += 1
            continue
        reader = accounts_service.get_reader(session, notice.reader_id)
        if notice.channel == "email" and not reader.email:
            _fail(notice, FailureKind.NO_ADDRESS, "reader has no e-mail address", report)
            continue
        letter = Letter(
            notice=ref,
            reader_name=reader.name,
            language=service.reader_language(session, notice.reader_id) or language,
            now=now,
        )
        try:
            subject, body = compose(session, kind, letter)
        except (KeyError, ValueError) as exc:
            reason = f"cannot write a {notice.kind} notice ({type(exc).__name__})"
            _fail(notice, FailureKind.UNWRITABLE, reason, report)
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
                language=letter.language,
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


def _fail(notice: Notice, kind: FailureKind, reason: str, report: DeliveryReport) -> None:
    notice.status = NoticeStatus.FAILED
    notice.error_kind = kind
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
        return DeliveryError(f"unexpected {type(exc).__name__}", kind=FailureKind.UNEXPECTED)
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
            "error_kind": FailureKind.NONE,
        }
    elif error.permanent or out.attempts >= policy.max_attempts:
        values = {
            "status": NoticeStatus.FAILED,
            "last_error": error.reason,
            "error_kind": error.kind,
        }
    else:
        values = {
            "next_attempt_at": now + policy.retry_after(out.attempts),
            "last_error": error.reason,
            "error_kind": error.kind,
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
