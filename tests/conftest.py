"""Shared fixtures: one migrated database per run (SQLite, or PostgreSQL when
``SHULIAN_TEST_DATABASE_URL`` is set), each test inside a transaction rolled back at its end."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from shulian.api import create_app
from shulian.core.config import Settings
from shulian.core.db import make_engine
from shulian.migrations import upgrade

NOW = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)  # a Saturday
ORIGIN = "http://testserver"
PG_URL = os.environ.get("SHULIAN_TEST_DATABASE_URL", "")


def pytest_report_header() -> str:
    return f"database: {make_url(PG_URL).render_as_string() if PG_URL else 'SQLite'}"


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    if PG_URL:
        eng = make_engine(PG_URL)
        with eng.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    else:
        eng = make_engine(f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}")
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    conn = engine.connect()
    trans = conn.begin()
    try:
        yield conn
    finally:
        trans.rollback()
        conn.close()


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    """Sessions whose commits release a savepoint inside the test's transaction."""
    return sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    s = session_factory()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        secret_key="test-secret-" + uuid.uuid4().hex,  # type: ignore[arg-type]
        database_url=PG_URL,
        login_max_failures=5,
        ledger_worker=False,
        search_worker=False,
        circulation_worker=False,
        session_worker=False,
    )


@pytest.fixture
def app(settings: Settings, engine: Engine, session_factory: sessionmaker[Session]) -> FastAPI:
    application = create_app(settings, engine=engine, clock=lambda: NOW)
    # Requests share the test's transaction, so the test sees their writes and nothing stays.
    application.state.sessionmaker = session_factory
    application.state.read_sessionmaker = session_factory
    return application


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A client that, like every current browser, says which page a change comes from
    (``Origin``): ours. Tests of requests without it (older browsers, privacy add-ons) send
    the form token instead (``tests/web/test_protections.py``)."""
    with TestClient(app, base_url="http://testserver", headers={"Origin": ORIGIN}) as c:
        yield c


@contextmanager
def fresh_database(
    folder: Path | None, *, name: str = "scratch", server_url: str = PG_URL
) -> Iterator[str]:
    """The URL of a new, empty database (no schema): a SQLite file in ``folder``, or, with a
    PostgreSQL server URL, a database created on that server and dropped afterwards."""
    if not server_url:
        assert folder is not None, "a SQLite database needs a folder"
        yield f"sqlite:///{folder / f'{name}.db'}"
        return
    db = f"shulian_{name}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{db}"'))
        yield make_url(server_url).set(database=db).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture
def empty_db_url(tmp_path: Path) -> Iterator[str]:
    """A new database of the suite's kind with nothing in it, not even the schema."""
    with fresh_database(tmp_path, name="empty") as url:
        yield url


@pytest.fixture
def scratch_db_url(tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database of the suite's kind whose commits are real (for tests of
    crashes and concurrency); dropped afterwards."""
    with fresh_database(tmp_path) as url:
        eng = make_engine(url)
        upgrade(eng)
        eng.dispose()
        yield url


@pytest.fixture
def scratch_engines(scratch_db_url: str) -> Iterator[Callable[..., Engine]]:
    """Makes engines on the scratch database; all are disposed before it is dropped."""
    made: list[Engine] = []

    def make(**kwargs: object) -> Engine:
        eng = make_engine(scratch_db_url, **kwargs)
        made.append(eng)
        return eng

    yield make
    for eng in made:
        eng.dispose()
