from __future__ import annotations

import fcntl
import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from shulian.core.db import make_engine
from shulian.core.events import Event
from tests.conftest import NOW, PG_URL


@pytest.mark.skipif(bool(PG_URL), reason="SQLite pragmas")
class TestSQLiteEngine:
    def test_wal_mode_and_foreign_keys_are_on(self, engine: Engine) -> None:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1

    def test_a_writer_holds_the_lock_that_other_processes_queue_on(self, tmp_path: Path) -> None:
        # Another process (here: another open file description, which flock treats alike)
        # cannot take the writers' lock while a write transaction is open, and can once it ends.
        db = tmp_path / "lib.db"
        eng = make_engine(f"sqlite:///{db}")
        lock_file = Path(f"{db}-writer.lock")

        def others_can_write() -> bool:
            fd = os.open(lock_file, os.O_RDWR | os.O_CREAT)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            finally:
                os.close(fd)  # closing drops a lock taken through it
            return True

        try:
            with eng.connect() as conn:
                with conn.begin():
                    conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
                    assert not others_can_write()
                assert others_can_write()
                with conn.execution_options(sqlite_begin="DEFERRED").begin():
                    conn.exec_driver_sql("SELECT count(*) FROM t")
                    assert others_can_write()  # readers never queue
        finally:
            eng.dispose()


class TestForeignKeys:
    def test_a_reader_cannot_point_at_a_missing_branch(self, connection: Connection) -> None:
        with pytest.raises(IntegrityError), connection.begin_nested():
            connection.execute(
                text(
                    "INSERT INTO readers (card_number, name, category_code, phone, email,"
                    " home_branch_id, status, expires_on, auth_version, points, created_at)"
                    " VALUES ('X1', 'x', 'adult', '', '', 999999, 'active', '2030-01-01', 1,"
                    " 0, :now)"
                ),
                {"now": NOW.replace(tzinfo=None)},
            )


class TestUTCDateTime:
    def test_reads_back_aware_utc(self, session: Session) -> None:
        shanghai = timezone(timedelta(hours=8))
        ev = Event(type="t", occurred_at=datetime(2026, 1, 1, 8, 0, tzinfo=shanghai), payload={})
        session.add(ev)
        session.flush()
        session.expire_all()
        got = session.get(Event, ev.seq)
        assert got is not None
        assert got.occurred_at == datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
        assert got.occurred_at.tzinfo is not None

    def test_refuses_naive_datetimes(self, session: Session) -> None:
        session.add(Event(type="t", occurred_at=datetime(2026, 1, 1), payload={}))
        with pytest.raises(StatementError, match="naive datetime"):
            session.flush()
