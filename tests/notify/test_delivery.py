"""Notices leave the outbox: e-mail to a real SMTP server, a signed webhook to a real HTTP
server, retries with backoff, giving up, and at-least-once delivery across a crash."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_file
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

import shulian
from shulian.circulation import notices as circulation_notices, service as circ
from shulian.circulation.schemas import PreferencesUpdate
from shulian.core import i18n
from shulian.core.config import Settings, load_settings
from shulian.core.db import make_sessionmaker, session_scope
from shulian.core.errors import ConfigurationError
from shulian.notify import kinds as notice_kinds, service as notify_service
from shulian.notify.delivery import DeliveryPolicy, DeliveryReport, deliver_notices
from shulian.notify.kinds import Letter, NoticeKinds, NoticeRef
from shulian.notify.models import Notice
from shulian.notify.schemas import FailureKind, NoticePreferencesUpdate, NoticeStatus
from shulian.notify.transports import (
    SIGNATURE_HEADER,
    Outgoing,
    SmtpTransport,
    Transport,
    WebhookTransport,
    message_id,
    transports_from_settings,
)
from tests.conftest import NOW
from tests.factories.circulation import Library, make_library
from tests.servers import Inbox, WebhookReceiver, free_port, self_signed

SRC = Path(shulian.__file__).parent
FROM = "书链图书馆 <library@example.org>"
SECRET = "webhook-secret"
LEASE = DeliveryPolicy().lease
KINDS = NoticeKinds(circulation_notices.KINDS)


@pytest.fixture(autouse=True)
def _catalogs() -> None:
    i18n.load_catalogs(SRC / "web" / "i18n")


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    box = Inbox(free_port()).start()
    yield box
    box.stop()


def smtp(port: int, **kwargs: Any) -> SmtpTransport:
    return SmtpTransport(host="127.0.0.1", port=port, from_addr=FROM, timeout=5, **kwargs)


def hold_ready(
    session: Session, lib: Library, *, reader: int = 0, borrower: int | None = None, copy: int = 0
) -> Notice:
    """Reader ``reader`` holds a title at CEN while ``borrower`` (the next reader) has a copy out
    (``copy``: 0, 呐喊 at CEN; 1, 狂人日记 at CEN); the copy comes back at CEN: the hold is
    ready and a notice is queued (committed, as the desk's request would)."""
    item = lib.other_items[0] if copy == 0 else lib.items[0]
    other = lib.readers[reader + 1 if borrower is None else borrower]
    circ.check_out(
        session, reader_id=other.id, barcode=item.barcode, branch="CEN", actor="s", now=NOW
    )
    circ.place_hold(
        session,
        reader_id=lib.readers[reader].id,
        record_id=item.record_id,
        pickup_branch="CEN",
        actor="r",
        now=NOW,
    )
    circ.check_in(session, barcode=item.barcode, branch="CEN", actor="s", now=NOW)
    notice = session.scalars(
        select(Notice)
        .where(Notice.reader_id == lib.readers[reader].id)
        .order_by(Notice.id.desc())
        .limit(1)
    ).one()
    session.commit()
    return notice


def reload(session: Session, notice_id: int) -> Notice:
    session.expire_all()
    found = session.get(Notice, notice_id)
    assert found is not None
    return found


def deliver(
    factory: sessionmaker[Session],
    transports: dict[str, Transport],
    now: datetime = NOW,
    **kwargs: Any,
) -> DeliveryReport:
    kwargs.setdefault("kinds", KINDS)
    return deliver_notices(factory, now=now, transports=transports, **kwargs)


class TestEmail:
    def test_hold_ready_reaches_the_inbox_in_chinese(
        self, session: Session, session_factory: sessionmaker[Session], inbox: Inbox
    ) -> None:
        lib = make_library(session)
        notice = hold_ready(session, lib)
        assert (
            notice.key == f"hold_ready:hold:{circ.reader_holds(session, lib.reader.id)[0].id}:email"
        )

        report = deliver(session_factory, {"email": smtp(inbox.port)})

        assert (report.sent, report.retrying, report.failed) == (1, 0, 0)
        [got] = inbox.messages
        assert got.rcpt_tos == ["reader@example.org"]
        assert got.mail_from == "library@example.org"
        msg = got.message
        assert msg["Subject"] == "预约到馆：《呐喊》"
        assert msg["Message-ID"] == message_id(notice.key, "example.org")
        assert (
            msg["Message-ID"]
            == f"<notice.hold_ready.hold.{notice.key.split(':')[2]}.email@example.org>"
        )
        assert msg["Auto-Submitted"] == "auto-generated"
        body = msg.get_content()
        assert "读者0，您好：" in body
        assert "《呐喊》已在CEN 馆的预约架上等您领取" in body
        assert "请在 2026-11-28" in body  # seven shelf days, in the library's time zone
        sent = reload(session, notice.id)
        assert sent.status is NoticeStatus.SENT and sent.sent_at == NOW and sent.attempts == 1
        assert sent.last_error == ""
        assert deliver(session_factory, {"email": smtp(inbox.port)}).sent == 0

    def test_english_when_the_library_speaks_english(
        self, session: Session, session_factory: sessionmaker[Session], inbox: Inbox
    ) -> None:
        hold_ready(session, make_library(session))
        deliver(session_factory, {"email": smtp(inbox.port)}, language="en")
        msg = inbox.messages[0].message
        assert msg["Subject"] == "Your hold is ready: 呐喊"
        assert "“呐喊” is waiting for you on the hold shelf at CEN library." in msg.get_content()

    def test_a_reader_who_chose_english_gets_english_in_a_chinese_library(
        self, session: Session, session_factory: sessionmaker[Session], inbox: Inbox
    ) -> None:
        lib = make_library(session)
        notify_service.set_preferences(
            session,
            reader_id=lib.reader.id,
            data=NoticePreferencesUpdate(language="en"),
            actor="r",
            now=NOW,
        )
        hold_ready(session, lib)
        hold_ready(session, lib, reader=1, borrower=2, copy=1)
        deliver(session_factory, {"email": smtp(inbox.port)}, language="zh-CN")
        subjects = sorted(str(got.message["Subject"]) for got in inbox.messages)
        assert subjects == ["Your hold is ready: 呐喊", "预约到馆：《狂人日记》"]
        english = next(m.message for m in inbox.messages if m.message["Subject"].startswith("Y"))
        assert english["Content-Language"] == "en"
        assert "Dear 读者0," in english.get_content()

    def test_a_kind_nobody_registered_fails_as_unwritable(
        self, session: Session, session_factory: sessionmaker[Session], inbox: Inbox
    ) -> None:
        lib = make_library(session)
        [notice_id] = notify_service.enqueue(
            session,
            reader_id=lib.reader.id,
            kind="locker_code",
            key="locker_code:locker:1",
            context={},
            now=NOW,
        )
        session.commit()
        assert deliver(session_factory, {"email": smtp(inbox.port)}).failed == 1
        failed = reload(session, notice_id)
        assert failed.error_kind is FailureKind.UNWRITABLE
        assert failed.last_error == "cannot write a locker_code notice (UnknownNoticeKind)"
        assert inbox.messages == []

    def test_reader_without_an_address_fails_at_once_with_the_reason(
        self, session: Session, session_factory: sessionmaker[Session], inbox: Inbox
    ) -> None:
        lib = make_library(session)
        lib.reader.email = ""
        notice = hold_ready(session, lib)
        report = deliver(session_factory, {"email": smtp(inbox.port)})
        assert (report.sent, report.failed) == (0, 1)
        failed = reload(session, notice.id)
        assert failed.status is NoticeStatus.FAILED
        assert failed.last_error == "reader has no e-mail address"
        assert failed.error_kind is FailureKind.NO_ADDRESS
        assert inbox.messages == []

    def test_a_channel_not_configured_fails_its_notices(
        self, session: Session, session_factory: sessionmaker[Session]
    ) -> None:
        notice = hold_ready(session, make_library(session))
        assert deliver(session_factory, {}).failed == 1
        failed = reload(session, notice.id)
        assert failed.last_error == "the email channel is not configured"
        assert failed.error_kind is FailureKind.CHANNEL_OFF

    def test_starttls_and_login(
        self, session: Session, session_factory: sessionmaker[Session], tmp_path: Path
    ) -> None:
        server_tls, client_tls = self_signed(tmp_path)
        box = Inbox(free_port(), user="lib", password="pw", tls_context=server_tls).start()
        try:
            hold_ready(session, make_library(session))
            transport = smtp(
                box.port, user="lib", password="pw", starttls=True, tls_context=client_tls
            )
            assert deliver(session_factory, {"email": transport}).sent == 1
        finally:
            box.stop()
        assert box.logins == ["lib"] and len(box.messages) == 1


class TestWebhook:
    def test_posts_signed_json_with_the_idempotency_key(
        self, session: Session, session_factory: sessionmaker[Session]
    ) -> None:
        lib = make_library(session)
        circ.set_preferences(
            session,
            reader_id=lib.reader.id,
            data=PreferencesUpdate(notify_email=False, notify_webhook=True),
            actor="r",
            now=NOW,
        )
        notice = hold_ready(session, lib)
        assert notice.channel == "webhook"
        with WebhookReceiver() as hooks:
            report = deliver(
                session_factory, {"webhook": WebhookTransport(url=hooks.url, secret=SECRET)}
            )
        assert report.sent == 1
        [hook] = hooks.posts
        assert hook.headers["idempotency-key"] == notice.key
        expected = hmac.new(SECRET.encode(), hook.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(hook.headers[SIGNATURE_HEADER.lower()], f"sha256={expected}")
        sent = json.loads(hook.body)
        assert sent["key"] == notice.key and sent["kind"] == "hold_ready"
        assert sent["subject"] == "预约到馆：《呐喊》"
        assert sent["reader"] == {"card_number": lib.reader.card_number, "phone": "13800000000"}
        assert sent["context"]["branch"] == "CEN"
        assert reload(session, notice.id).status is NoticeStatus.SENT

    def test_a_refusal_fails_for_good_and_a_busy_gateway_is_retried(
        self, session: Session, session_factory: sessionmaker[Session]
    ) -> None:
        lib = make_library(session, readers=4)
        for r in (0, 2):
            circ.set_preferences(
                session,
                reader_id=lib.readers[r].id,
                data=PreferencesUpdate(notify_email=False, notify_webhook=True),
                actor="r",
                now=NOW,
            )
        first = hold_ready(session, lib, reader=0)
        with WebhookReceiver() as hooks:
            transports: dict[str, Transport] = {
                "webhook": WebhookTransport(url=hooks.url, secret=SECRET)
            }
            hooks.status = 400
            assert deliver(session_factory, transports).failed == 1
            refused = reload(session, first.id)
            assert refused.status is NoticeStatus.FAILED
            assert refused.last_error == "webhook answered HTTP 400"
            assert refused.error_kind is FailureKind.REFUSED
            hooks.status = 503
            busy = hold_ready(session, lib, reader=2, borrower=3, copy=1)
            assert deliver(session_factory, transports).retrying == 1
        busy = reload(session, busy.id)
        assert busy.status is NoticeStatus.PENDING
        assert busy.next_attempt_at == NOW + timedelta(minutes=1)
        assert busy.last_error == "webhook answered HTTP 503"
        assert busy.error_kind is FailureKind.TEMPORARY


class TestRetries:
    def test_smtp_down_is_retried_with_backoff_then_sent_when_it_comes_back(
        self, session: Session, session_factory: sessionmaker[Session]
    ) -> None:
        notice = hold_ready(session, make_library(session))
        port = free_port()  # nothing listens here yet
        transports: dict[str, Transport] = {"email": smtp(port)}

        report = deliver(session_factory, transports)
        assert (report.sent, report.retrying) == (0, 1)
        waiting = reload(session, notice.id)
        assert waiting.status is NoticeStatus.PENDING and waiting.attempts == 1
        assert waiting.next_attempt_at == NOW + timedelta(minutes=1)
        assert waiting.last_error == "SMTP unreachable (ConnectionRefusedError)"
        assert waiting.error_kind is FailureKind.UNREACHABLE

        assert deliver(session_factory, transports, now=NOW + timedelta(seconds=30)) == (
            DeliveryReport()
        )  # not due yet
        later = NOW + timedelta(minutes=1)
        assert deliver(session_factory, transports, now=later).retrying == 1
        assert reload(session, notice.id).next_attempt_at == later + timedelta(minutes=5)

        box = Inbox(port).start()
        try:
            back = later + timedelta(minutes=5)
            assert deliver(session_factory, transports, now=back).sent == 1
        finally:
            box.stop()
        assert len(box.messages) == 1
        sent = reload(session, notice.id)
        assert sent.status is NoticeStatus.SENT and sent.attempts == 3 and sent.last_error == ""
        assert sent.error_kind is FailureKind.NONE

    def test_gives_up_after_the_last_attempt(
        self, session: Session, session_factory: sessionmaker[Session]
    ) -> None:
        notice = hold_ready(session, make_library(session))
        transports: dict[str, Transport] = {"email": smtp(free_port())}
        policy = DeliveryPolicy(max_attempts=3)
        now = NOW
        for expected in (1, 1, 0):
            assert deliver(session_factory, transports, now=now, policy=policy).retrying == expected
            now = reload(session, notice.id).next_attempt_at
        failed = reload(session, notice.id)
        assert failed.status is NoticeStatus.FAILED and failed.attempts == 3
        assert failed.last_error.startswith("SMTP unreachable")
        assert "example.org" not in failed.last_error
        far = NOW + timedelta(days=30)
        assert deliver(session_factory, transports, now=far, policy=policy) == DeliveryReport()


class Crash(BaseException):
    """The process dies (kill -9) at this point."""


class CrashBeforeSending(SmtpTransport):
    def send(self, out: Outgoing) -> None:
        raise Crash


class CrashAfterSending(SmtpTransport):
    def send(self, out: Outgoing) -> None:
        super().send(out)
        raise Crash


class TestCrash:
    def test_a_crash_between_claim_and_send_sends_once_after_the_lease(
        self, session: Session, session_factory: sessionmaker[Session], inbox: Inbox
    ) -> None:
        notice = hold_ready(session, make_library(session))
        crashing = CrashBeforeSending(host="127.0.0.1", port=inbox.port, from_addr=FROM)
        with pytest.raises(Crash):
            deliver(session_factory, {"email": crashing})
        leased = reload(session, notice.id)
        assert leased.status is NoticeStatus.PENDING and leased.attempts == 1
        assert leased.next_attempt_at == NOW + LEASE

        transports: dict[str, Transport] = {"email": smtp(inbox.port)}
        while_leased = NOW + LEASE - timedelta(seconds=1)
        assert deliver(session_factory, transports, now=while_leased) == DeliveryReport()
        assert inbox.messages == []
        assert deliver(session_factory, transports, now=NOW + LEASE).sent == 1
        assert deliver(session_factory, transports, now=NOW + 2 * LEASE).sent == 0
        assert inbox.message_ids() == [message_id(notice.key, "example.org")]

    def test_a_crash_after_sending_repeats_the_same_message_id(
        self, session: Session, session_factory: sessionmaker[Session], inbox: Inbox
    ) -> None:
        notice = hold_ready(session, make_library(session))
        crashing = CrashAfterSending(host="127.0.0.1", port=inbox.port, from_addr=FROM)
        with pytest.raises(Crash):
            deliver(session_factory, {"email": crashing})
        assert deliver(session_factory, {"email": smtp(inbox.port)}, now=NOW + LEASE).sent == 1
        # At least once: the receiver gets it twice under one Message-ID and can drop the copy.
        assert inbox.message_ids() == [message_id(notice.key, "example.org")] * 2
        assert reload(session, notice.id).status is NoticeStatus.SENT

    def test_a_crash_on_the_last_attempt_ends_in_failed(
        self, session: Session, session_factory: sessionmaker[Session], inbox: Inbox
    ) -> None:
        notice = hold_ready(session, make_library(session))
        crashing = CrashBeforeSending(host="127.0.0.1", port=inbox.port, from_addr=FROM)
        last = DeliveryPolicy(max_attempts=1)
        with pytest.raises(Crash):
            deliver(session_factory, {"email": crashing}, policy=last)
        report = deliver(session_factory, {"email": smtp(inbox.port)}, NOW + LEASE, policy=last)
        assert (report.sent, report.failed) == (0, 1)
        failed = reload(session, notice.id)
        assert failed.status is NoticeStatus.FAILED
        assert failed.last_error == "no result from the last attempt"
        assert failed.error_kind is FailureKind.NO_RESULT


class TestObsolete:
    """A notice no longer true when its turn comes is not sent."""

    def lend(self, session: Session, lib: Library) -> datetime:
        loan = circ.check_out(
            session,
            reader_id=lib.reader.id,
            barcode=lib.items[0].barcode,
            branch="CEN",
            actor="s",
            now=NOW,
        )
        soon = loan.due_at - timedelta(days=1)
        assert circ.queue_due_notices(session, now=soon) == 1
        return soon

    def test_returned_or_renewed_loans_and_collected_holds(
        self, session: Session, session_factory: sessionmaker[Session], inbox: Inbox
    ) -> None:
        lib = make_library(session, readers=3)
        soon = self.lend(session, lib)
        circ.check_in(session, barcode=lib.items[0].barcode, branch="CEN", actor="s", now=soon)
        session.commit()
        report = deliver(session_factory, {"email": smtp(inbox.port)}, soon)
        assert (report.sent, report.obsolete) == (0, 1)
        returned = session.scalars(select(Notice).where(Notice.kind == "due_soon")).one()
        assert returned.status is NoticeStatus.OBSOLETE
        assert returned.last_error == "the loan was returned"

        soon = self.lend(session, lib)
        circ.renew(
            session, reader_id=lib.reader.id, barcode=lib.items[0].barcode, actor="r", now=soon
        )
        session.commit()
        assert deliver(session_factory, {"email": smtp(inbox.port)}, soon).obsolete == 1

        ready = hold_ready(session, lib, reader=1)
        circ.check_out(
            session,
            reader_id=lib.readers[1].id,
            barcode=lib.other_items[0].barcode,
            branch="CEN",
            actor="s",
            now=NOW,
        )
        session.commit()
        assert deliver(session_factory, {"email": smtp(inbox.port)}).obsolete == 1
        assert reload(session, ready.id).status is NoticeStatus.OBSOLETE
        assert inbox.messages == []


def test_two_workers_never_send_the_same_notice(
    scratch_engines: Callable[..., Engine], inbox: Inbox
) -> None:
    factory = make_sessionmaker(scratch_engines())
    with session_scope(factory) as s:
        lib = make_library(s, readers=1)
        for i in range(30):
            notify_service.enqueue(
                s,
                reader_id=lib.reader.id,
                kind="hold_ready",
                key=f"test:bulk:{i}",  # about no hold: never obsolete
                context={"title": f"第{i}本", "branch": "CEN", "expires": None},
                now=NOW,
            )
    reports: list[DeliveryReport] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        own = make_sessionmaker(scratch_engines())
        barrier.wait()
        reports.append(
            deliver(own, {"email": smtp(inbox.port)}, policy=DeliveryPolicy(batch_size=3))
        )

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(r.sent for r in reports) == 30 and sum(r.lost for r in reports) == 0
    assert len(inbox.messages) == 30
    assert set(Counter(inbox.message_ids()).values()) == {1}
    with session_scope(factory) as s:
        statuses = Counter(n.status for n in s.scalars(select(Notice)))
    assert statuses == {NoticeStatus.SENT: 30}


class TestMessages:
    def test_every_message_has_a_chinese_translation(self) -> None:
        zh = i18n.catalog_messages("zh-CN")
        found: set[str] = set()
        for module in (circulation_notices, notice_kinds):
            for _line, msg, _comments, _context in extract_from_file("python", module.__file__):
                found.update([msg] if isinstance(msg, str) else msg)
        found.update(kind.label for kind in KINDS.values())
        assert len(found) >= 18
        assert sorted(m for m in found if m not in zh) == []

    @pytest.mark.parametrize(
        ("kind", "due", "zh", "en"),
        [
            (
                "due_soon",
                "2026-11-23",
                "《呐喊》将在 2 天后（2026-11-23）到期。",
                "is due in 2 days",
            ),
            ("due_soon", "2026-11-21", "《呐喊》今天（2026-11-21）到期。", "is due today"),
            ("overdue", "2026-11-20", "已逾期 1 天", "is 1 day overdue"),
        ],
    )
    def test_due_dates_are_counted_from_the_library_day(
        self, session: Session, kind: str, due: str, zh: str, en: str
    ) -> None:
        make_library(session)  # its time zone is Asia/Shanghai
        ref = NoticeRef(
            kind=kind, key=f"{kind}:loan:1:{due}", context={"title": "呐喊", "due": due}
        )
        for language, expected in (("zh-CN", zh), ("en", en)):
            letter = Letter(notice=ref, reader_name="张三", language=language, now=NOW)
            _s, body = notice_kinds.compose(session, KINDS[kind], letter)
            assert expected in body
        assert i18n.current_language() == "zh-CN"  # the caller's language is left alone


class TestSettings:
    def test_transports_are_built_from_settings(self) -> None:
        settings = Settings(
            smtp_host="mail.example.org",
            smtp_from="library@example.org",
            notice_webhook_url="https://gw.example.org/sms",
            notice_webhook_secret=SECRET,
        )
        built = transports_from_settings(settings)
        assert set(built) == {"email", "webhook"}
        assert transports_from_settings(Settings()) == {}

    @pytest.mark.parametrize(
        ("values", "named"),
        [
            ({"smtp_host": "mail.example.org"}, "SHULIAN_SMTP_FROM"),
            ({"notice_webhook_url": "https://gw.example.org"}, "SHULIAN_NOTICE_WEBHOOK_SECRET"),
            ({"notice_webhook_url": "gw", "notice_webhook_secret": "s"}, "WEBHOOK_URL"),
        ],
    )
    def test_incomplete_channels_are_refused(self, values: dict[str, str], named: str) -> None:
        with pytest.raises(ConfigurationError, match=named):
            load_settings(**values)
