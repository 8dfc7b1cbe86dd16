"""Libraries for the witnessing tests (``a`` witnesses ``b``): each with its own migrated
database of the suite's kind (SQLite files, or PostgreSQL databases when
``SHULIAN_TEST_DATABASE_URL`` is set), dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from shulian.core.db import make_engine
from shulian.migrations import upgrade
from tests.conftest import PG_URL
from tests.ledger.libraries import Library, make_library


@pytest.fixture
def library_db(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """``library_db(name)`` makes a fresh migrated database and returns its URL."""
    created: list[str] = []
    engines: list[Engine] = []

    def make(name: str) -> str:
        if not PG_URL:
            url = f"sqlite:///{tmp_path / f'{name}.db'}"
        else:
            db = f"shulian_lib_{name}_{uuid.uuid4().hex[:8]}"
            admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{db}"'))
            admin.dispose()
            created.append(db)
            url = make_url(PG_URL).set(database=db).render_as_string(hide_password=False)
        eng = make_engine(url)
        engines.append(eng)
        upgrade(eng)
        eng.dispose()
        return url

    yield make
    for eng in engines:
        eng.dispose()
    if created:
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for db in created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def a(library_db: Callable[[str], str], tmp_path: Path) -> Iterator[Library]:
    lib = make_library(library_db("a"), tmp_path / "a", "library-a")
    yield lib
    lib.engine.dispose()


@pytest.fixture
def b(library_db: Callable[[str], str], tmp_path: Path) -> Iterator[Library]:
    lib = make_library(library_db("b"), tmp_path / "b", "library-b")
    yield lib
    lib.engine.dispose()
