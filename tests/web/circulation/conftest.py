"""Fixtures of the circulation page tests: a test library, a reader and a desk logged in."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.accounts import make_staff
from tests.factories.circulation import Library, make_library
from tests.web.helpers import login


@pytest.fixture
def lib(session: Session) -> Library:
    return make_library(session)


@pytest.fixture
def reader(client: TestClient, lib: Library) -> Library:
    login(client, "reader", lib.reader.card_number)
    return lib


@pytest.fixture
def desk(session: Session, client: TestClient, lib: Library) -> Library:
    make_staff(session, roles=["circulation"], username="desk1", branch="CEN")
    login(client, "staff", "desk1")
    return lib
