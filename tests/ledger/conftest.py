"""Libraries for the witnessing tests (``a`` witnesses ``b``): each with its own migrated
database of the suite's kind (SQLite files, or PostgreSQL databases when
``SHULIAN_TEST_DATABASE_URL`` is set), dropped afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from shulian.core.db import make_engine
from shulian.migrations import upgrade
from tests.conftest import fresh_database
from tests.ledger.libraries import Library, make_library


@pytest.fixture
def library_db(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """``library_db(name)`` makes a fresh migrated database and returns its URL."""
    with ExitStack() as stack:

        def make(name: str) -> str:
            url = stack.enter_context(fresh_database(tmp_path, name=f"lib_{name}"))
            eng = make_engine(url)
            upgrade(eng)
            eng.dispose()
            return url

        yield make


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
