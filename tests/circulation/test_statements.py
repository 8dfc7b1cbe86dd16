"""How many statements a checkout and a checkin send to the database: each is a round trip,
and on PostgreSQL round trips, not work, are what a desk waits for. These numbers may only go
down; raise them only with a reason in the commit."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from shulian.circulation import service as circ
from shulian.core.db import make_sessionmaker, session_scope
from tests.conftest import NOW
from tests.factories.accounts import bearer, make_staff
from tests.factories.circulation import make_library

CHECKOUT = 14  # 18 before the spine lost its lock and the standing checks were merged
CHECKIN = 10  # 11 before
_FRAMING = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


@contextmanager
def counted(engine: Engine) -> Iterator[list[str]]:
    """The statements sent on ``engine`` inside the block, transaction framing left out."""
    sent: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        if not statement.lstrip().upper().startswith(_FRAMING):
            sent.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_checkout_and_a_checkin_stay_within_their_statements(
    scratch_engines: Callable[..., Engine],
) -> None:
    engine = scratch_engines()
    factory = make_sessionmaker(engine)
    with session_scope(factory) as s:
        lib = make_library(s)
        reader, barcode = lib.reader.id, lib.items[0].barcode
    with counted(engine) as sent, session_scope(factory) as s:
        circ.check_out(s, reader_id=reader, barcode=barcode, branch="CEN", actor="s", now=NOW)
    assert len(sent) <= CHECKOUT, "\n".join(sent)
    with counted(engine) as sent, session_scope(factory) as s:
        circ.check_in(s, barcode=barcode, branch="CEN", actor="s", now=NOW)
    assert len(sent) <= CHECKIN, "\n".join(sent)


HTTP_CHECKOUT = 16  # the staff member, their branch and permissions, then the checkout
HTTP_CHECKIN = 12


def test_over_http_the_request_adds_only_who_is_asking(
    session: Session, client: TestClient, engine: Engine
) -> None:
    lib = make_library(session)
    make_staff(session, roles=["circulation"], username="desk", branch="CEN")
    headers = bearer(client, "staff", "desk")
    body = {"card": lib.reader.card_number, "barcode": lib.items[0].barcode}
    with counted(engine) as sent:
        assert client.post("/api/v1/circulation/checkouts", json=body, headers=headers).is_success
    assert len(sent) <= HTTP_CHECKOUT, "\n".join(sent)
    with counted(engine) as sent:
        back = {"barcode": lib.items[0].barcode}
        assert client.post("/api/v1/circulation/checkins", json=back, headers=headers).is_success
    assert len(sent) <= HTTP_CHECKIN, "\n".join(sent)
