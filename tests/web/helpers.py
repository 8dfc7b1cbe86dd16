"""Helpers the page tests share: logging in through the form, reading an element's text,
an error's Chinese message, lending and placing holds in a test library."""

from __future__ import annotations

import re
from typing import Protocol

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from shulian.circulation import service as circ
from shulian.core import i18n
from tests.conftest import NOW
from tests.factories.accounts import PASSWORD
from tests.factories.circulation import Library

HX = {"HX-Request": "true"}


def post_login(
    client: TestClient, kind: str, account: str, password: str = PASSWORD, next_: str = "/"
) -> object:
    """Post the login form; the answer, whatever it is."""
    return client.post(
        "/login",
        data={"kind": kind, "account": account, "password": password, "next": next_},
        follow_redirects=False,
    )


def login(client: TestClient, kind: str, account: str) -> None:
    """Log in through the form, which must succeed."""
    r = client.post(
        "/login",
        data={"kind": kind, "account": account, "password": PASSWORD, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def lend(session: Session, lib: Library, barcode: str, *, reader: int | None = None, **kw: object):  # type: ignore[no-untyped-def]
    return circ.check_out(
        session,
        reader_id=reader or lib.reader.id,
        barcode=barcode,
        branch="CEN",
        actor="staff:1",
        now=kw.get("now", NOW),  # type: ignore[arg-type]
    )


def hold(session: Session, lib: Library, reader: int, *, record: int | None = None, pickup="CEN"):  # type: ignore[no-untyped-def]
    return circ.place_hold(
        session,
        reader_id=reader,
        record_id=record or lib.record.id,
        pickup_branch=pickup,
        actor="test",
        now=NOW,
    )


def zh(error: Exception) -> str:
    """The error's message as a Chinese page shows it (and it must differ from the English)."""
    i18n.set_language("zh-CN")
    text: str = error.localized()  # type: ignore[attr-defined]
    assert text != error.detail  # type: ignore[attr-defined]
    return text


class Page(Protocol):
    @property
    def text(self) -> str: ...


def shown(page: Page, name: str) -> str:
    """The text of the element marked ``data-testid=name``, tags removed."""
    found = re.search(rf'<(\w+)[^>]*data-testid="{name}"[^>]*>(.*?)</\1>', page.text, re.S)
    assert found, f"{name} not on the page"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", found.group(2))).strip()
