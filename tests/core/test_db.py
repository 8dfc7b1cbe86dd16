from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from shulian.core.events import Event
from tests.conftest import NOW, PG_URL


@pytest.mark.skipif(bool(PG_URL), reason="SQLite pragmas")
class TestSQLiteEngine:
    def test_wal_mode_and_foreign_keys_are_on(self, engine: Engine) -> None:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


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
