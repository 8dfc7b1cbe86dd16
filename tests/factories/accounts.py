"""Builders for readers and staff."""

from __future__ import annotations

import itertools
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from shulian.accounts import service
from shulian.accounts.models import Reader, StaffAccount
from shulian.accounts.schemas import ReaderCreate, StaffCreate
from tests.conftest import NOW

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


def make_staff(
    session: Session, *, roles: list[str], username: str | None = None, branch: str | None = None
) -> StaffAccount:
    return service.create_staff(
        session,
        data=StaffCreate(
            username=username or f"staff{next(_seq)}",
            display_name="测试馆员",
            password=PASSWORD,
            branch=branch,
            roles=roles,
        ),
        actor="test",
        now=NOW,
    )


def make_reader(
    session: Session,
    *,
    branch: str = "CEN",
    card: str | None = None,
    name: str = "张三",
    category: str = "adult",
    expires_on: date = date(2028, 1, 1),
) -> Reader:
    return service.register_reader(
        session,
        data=ReaderCreate(
            card_number=card or f"T{next(_seq):05d}",
            name=name,
            category=category,
            phone="13800000000",
            email="reader@example.org",
            home_branch=branch,
            expires_on=expires_on,
            password=PASSWORD,
        ),
        actor="test",
        now=NOW,
    )


def bearer(client: TestClient, kind: str, account: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post(
        "/api/v1/auth/token", json={"kind": kind, "account": account, "password": password}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
