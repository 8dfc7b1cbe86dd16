"""The periodic circulation jobs (expire holds, accrue fines, queue due-date notices, anonymise
history), the worker that runs them in a serving process, and their commands."""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

import shulian
from shulian.circulation import notices as circulation_notices, service as circ
from shulian.circulation.models import Hold, Loan
from shulian.circulation.schemas import HoldStatus, PreferencesUpdate
from shulian.circulation.worker import CirculationWorker, run_jobs
from shulian.cli import app as cli
from shulian.core import i18n
from shulian.core.clock import utcnow
from shulian.core.db import make_sessionmaker, session_scope
from shulian.notify.kinds import NoticeKinds
from shulian.notify.models import Notice
from shulian.notify.schemas import NoticeStatus
from shulian.notify.transports import SmtpTransport
from shulian.notify.worker import NoticeWorker
from tests.conftest import NOW, PG_URL
from tests.factories.circulation import Library, make_library
from tests.servers import Inbox, free_port

SRC = Path(shulian.__file__).parent


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    box = Inbox(free_port()).start()
    yield box
    box.stop()


def lend(
    session: Session, lib: Library, *, reader: int = 0, item: int = 0, now: datetime = NOW
) -> Loan:
    read = circ.check_out(
        session,
        reader_id=lib.readers[reader].id,
        barcode=lib.items[item].barcode,
        branch="CEN",
        actor="s",
        now=now,
    )
    loan = session.get(Loan, read.id)
    assert loan is not None
    return loan


def keys(session: Session, reader_id: int) -> list[str]:
    return sorted(session.scalars(select(Notice.key).where(Notice.reader_id == reader_id)))


def counts(session_factory: sessionmaker[Session], now: datetime) -> dict[str, int | None]:
    runs = run_jobs(session_factory, now=now)
    assert [r.error for r in runs] == [None] * 4
    return {r.name: r.count for r in runs}


class TestDueNotices:
    def test_queued_once_per_loan_and_due_date_however_often_the_scan_runs(
        self, session: Session, session_factory: sessionmaker[Session]
    ) -> None:
        lib = make_library(session)
        loan = lend(session, lib)
        due_day = circ.library_tz(session)
        day = loan.due_at.astimezone(due_day).date().isoformat()
        session.commit()

        soon = loan.due_at - timedelta(days=1)
        assert counts(session_factory, soon)["queue_due_notices"] == 1
        assert counts(session_factory, soon + timedelta(hours=1))["queue_due_notices"] == 0
        assert keys(session, lib.reader.id) == [f"due_soon:loan:{loan.id}:{day}:email"]

        late = loan.due_at + timedelta(days=1)
        assert counts(session_factory, late)["queue_due_notices"] == 1
        assert counts(session_factory, late)["queue_due_notices"] == 0
        assert keys(session, lib.reader.id) == [
            f"due_soon:loan:{loan.id}:{day}:email",
            f"overdue:loan:{loan.id}:{day}:email",
        ]

    def test_a_renewal_earns_a_notice_for_the_new_due_date(
        self, session: Session, session_factory: sessionmaker[Session]
    ) -> None:
        lib = make_library(session)
        loan = lend(session, lib)
        soon = loan.due_at - timedelta(days=1)
        assert circ.queue_due_notices(session, now=soon) == 1
        circ.renew(
            session, reader_id=lib.reader.id, barcode=lib.items[0].barcode, actor="r", now=soon
        )
        session.refresh(loan)
        assert circ.queue_due_notices(session, now=soon) == 0  # the new day is weeks away
        assert circ.queue_due_notices(session, now=loan.due_at - timedelta(days=1)) == 1
        assert circ.queue_due_notices(session, now=loan.due_at - timedelta(hours=2)) == 0
        assert len(keys(session, lib.reader.id)) == 2

    def test_one_notice_per_channel_the_reader_chose(self, session: Session) -> None:
        lib = make_library(session)
        circ.set_preferences(
            session,
            reader_id=lib.reader.id,
            data=PreferencesUpdate(notify_webhook=True),
            actor="r",
            now=NOW,
        )
        loan = lend(session, lib)
        assert circ.queue_due_notices(session, now=loan.due_at - timedelta(days=1)) == 2
        assert {k.rsplit(":", 1)[1] for k in keys(session, lib.reader.id)} == {"email", "webhook"}


class TestExpireHolds:
    def test_passes_the_copy_to_the_next_reader_and_queues_their_notice(
        self, session: Session, session_factory: sessionmaker[Session]
    ) -> None:
        lib = make_library(session, readers=3)
        barcode = lib.other_items[0].barcode
        first, second, borrower = (r.id for r in lib.readers)
        circ.check_out(
            session, reader_id=borrower, barcode=barcode, branch="CEN", actor="s", now=NOW
        )
        for i, reader in enumerate((first, second)):
            circ.place_hold(
                session,
                reader_id=reader,
                record_id=lib.other.id,
                pickup_branch="CEN",
                actor="r",
                now=NOW + timedelta(minutes=i),
            )
        circ.check_in(session, barcode=barcode, branch="CEN", actor="s", now=NOW)
        h1, h2 = session.scalars(select(Hold).order_by(Hold.placed_at)).all()
        assert (h1.status, h2.status) == (HoldStatus.READY, HoldStatus.WAITING)
        assert h1.expires_at is not None
        session.commit()

        assert counts(session_factory, h1.expires_at - timedelta(minutes=1))["expire_holds"] == 0
        after = h1.expires_at + timedelta(minutes=1)
        assert counts(session_factory, after)["expire_holds"] == 1
        assert counts(session_factory, after)["expire_holds"] == 0
        session.expire_all()
        assert (h1.status, h2.status) == (HoldStatus.EXPIRED, HoldStatus.READY)
        assert h2.trapped_item_id == lib.other_items[0].id
        assert keys(session, second) == [f"hold_ready:hold:{h2.id}:email"]
        queued = session.scalars(select(Notice).where(Notice.reader_id == second)).one()
        assert queued.status is NoticeStatus.PENDING and queued.next_attempt_at == after
        assert queued.context["title"] == "呐喊" and queued.context["branch"] == "CEN"


class TestAnonymiseHistory:
    def test_unlinks_returned_loans_after_the_retention_days_unless_history_is_kept(
        self, session: Session, session_factory: sessionmaker[Session]
    ) -> None:
        lib = make_library(session)
        forgetful, keeper = lib.readers[0].id, lib.readers[1].id
        circ.set_preferences(
            session,
            reader_id=keeper,
            data=PreferencesUpdate(keep_history=True),
            actor="r",
            now=NOW,
        )
        loans = [lend(session, lib, reader=0, item=0), lend(session, lib, reader=1, item=1)]
        for item in lib.items:
            circ.check_in(session, barcode=item.barcode, branch="CEN", actor="s", now=NOW)
        session.commit()

        assert counts(session_factory, NOW + timedelta(days=29))["anonymise_history"] == 0
        assert counts(session_factory, NOW + timedelta(days=31))["anonymise_history"] == 1
        assert counts(session_factory, NOW + timedelta(days=32))["anonymise_history"] == 0
        for loan in loans:
            session.refresh(loan)
        assert loans[0].reader_id is None
        assert loans[1].reader_id == keeper
        assert circ.reading_history(session, reader_id=forgetful, now=NOW).loans == []


def test_jobs_a_second_worker_finds_running_are_skipped(
    scratch_engines: Callable[..., Engine],
) -> None:
    if not PG_URL:
        pytest.skip("advisory locks are PostgreSQL's; SQLite has a single writer")
    engine = scratch_engines()
    factory = make_sessionmaker(engine)
    with engine.connect() as other, other.begin():
        other.execute(
            text("SELECT pg_advisory_xact_lock(:k)"),
            {"k": zlib.crc32(b"shulian.circulation.expire_holds")},
        )
        runs = {r.name: r.count for r in run_jobs(factory, now=NOW)}
    assert runs == {
        "expire_holds": None,
        "accrue_fines": 0,
        "queue_due_notices": 0,
        "anonymise_history": 0,
    }
    assert run_jobs(factory, now=NOW)[0].count == 0


def test_the_worker_runs_the_jobs_at_start_and_delivers_what_they_queue(
    scratch_engines: Callable[..., Engine], inbox: Inbox
) -> None:
    i18n.load_catalogs(SRC / "web" / "i18n")
    engine = scratch_engines()
    factory = make_sessionmaker(engine)
    with session_scope(factory) as s:
        lib = make_library(s, readers=1)
        due = lend(s, lib).due_at
    day_before = due - timedelta(days=1)
    jobs = CirculationWorker(factory, clock=lambda: day_before)
    outbox = NoticeWorker(
        factory,
        transports={
            "email": SmtpTransport(host="127.0.0.1", port=inbox.port, from_addr="lib@example.org")
        },
        kinds=NoticeKinds(circulation_notices.KINDS),
        clock=lambda: day_before,
        poll=0.05,
        read_factory=make_sessionmaker(engine, readonly=True),
    )
    jobs.start()
    outbox.start()
    try:
        deadline = time.monotonic() + 20
        while not inbox.messages and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        outbox.stop()
        jobs.stop()
    assert jobs.status().last_success is not None and jobs.status().failures == 0
    [got] = inbox.messages
    assert got.message["Subject"] == "即将到期：《狂人日记》"
    assert "将在 1 天后" in got.message.get_content()


class TestCommands:
    @pytest.fixture
    def env(
        self, monkeypatch: pytest.MonkeyPatch, scratch_db_url: str, tmp_path: Path, inbox: Inbox
    ) -> str:
        monkeypatch.chdir(tmp_path)
        for name, value in {
            "DATABASE_URL": scratch_db_url,
            "DATA_DIR": str(tmp_path / "var"),
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(inbox.port),
            "SMTP_FROM": "library@example.org",
        }.items():
            monkeypatch.setenv(f"SHULIAN_{name}", value)
        return scratch_db_url

    def test_daily_then_notices(
        self, env: str, inbox: Inbox, scratch_engines: Callable[..., Engine]
    ) -> None:
        factory = make_sessionmaker(scratch_engines())
        with session_scope(factory) as s:
            lend(s, make_library(s, readers=1), now=utcnow() - timedelta(days=40))
        runner = CliRunner()

        daily = runner.invoke(cli, ["circulation", "daily"])
        assert daily.exit_code == 0, daily.output
        rows = {
            line.split("│")[1].strip(): line.split("│")[2].strip()
            for line in daily.output.splitlines()
            if line.count("│") == 3
        }
        assert rows == {
            "expire_holds": "0",
            "accrue_fines": "1",
            "queue_due_notices": "1",
            "anonymise_history": "0",
        }
        sent = runner.invoke(cli, ["circulation", "notices"])
        assert sent.exit_code == 0, sent.output
        assert "Notices: 1 sent, 0 to retry, 0 failed." in sent.output
        assert inbox.messages[0].message["Subject"] == "已逾期：《狂人日记》"
        again = runner.invoke(cli, ["circulation", "notices"])
        assert "Notices: 0 sent" in again.output

    def test_commands_explain_themselves(self) -> None:
        for command in (["circulation"], ["circulation", "daily"], ["circulation", "notices"]):
            result = CliRunner().invoke(cli, [*command, "--help"])
            assert result.exit_code == 0 and "Usage" in result.output
