"""Fixtures of the catalogue's page tests."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.factories.consortium import make_network


@pytest.fixture
def network(session: Session) -> None:
    make_network(session)
