"""Kiosk accounts: created for a branch with a hashed password, and checked at SIP2 login."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from shulian.consortium.errors import BranchNotFound
from shulian.core.events import Event
from shulian.selfservice import service
from shulian.selfservice.errors import (
    InvalidKioskCredentials,
    KioskLoginTaken,
    UnsupportedKioskEncoding,
)
from shulian.selfservice.schemas import KioskCreate
from tests.conftest import NOW
from tests.factories.consortium import make_network

PASSWORD = "kiosk-password"


def kiosk_data(**overrides: object) -> KioskCreate:
    data: dict[str, object] = {"login": "sc-cen-1", "password": PASSWORD, "branch_code": "cen"}
    data.update(overrides)
    return KioskCreate(**data)  # type: ignore[arg-type]


@pytest.fixture
def network(session: Session) -> None:
    make_network(session)


@pytest.mark.usefixtures("network")
class TestCreateKiosk:
    def test_stores_a_hash_and_defaults_the_institution_to_the_branch(
        self, session: Session
    ) -> None:
        kiosk = service.create_kiosk(session, data=kiosk_data(), actor="staff:1", now=NOW)
        assert kiosk.branch_code == "CEN" and kiosk.institution_id == "CEN"
        assert kiosk.password_hash.startswith("$argon2") and PASSWORD not in kiosk.password_hash
        assert kiosk.encoding == "utf-8" and kiosk.active

    def test_records_an_event_without_secrets(self, session: Session) -> None:
        kiosk = service.create_kiosk(
            session, data=kiosk_data(encoding="GBK"), actor="staff:1", now=NOW
        )
        assert kiosk.encoding == "gb18030"  # GBK kiosks are served as its superset
        ev = session.scalars(select(Event).where(Event.subject == f"kiosk:{kiosk.id}")).one()
        assert ev.type == "selfservice.kiosk_created" and ev.branch == "CEN"
        assert ev.payload == {"login": "sc-cen-1", "encoding": "gb18030"}

    def test_rejects_a_login_in_use(self, session: Session) -> None:
        service.create_kiosk(session, data=kiosk_data(), actor="t", now=NOW)
        with pytest.raises(KioskLoginTaken):
            service.create_kiosk(session, data=kiosk_data(), actor="t", now=NOW)

    def test_rejects_an_unknown_branch(self, session: Session) -> None:
        with pytest.raises(BranchNotFound):
            service.create_kiosk(session, data=kiosk_data(branch_code="NOPE"), actor="t", now=NOW)

    def test_rejects_an_encoding_we_do_not_serve(self, session: Session) -> None:
        with pytest.raises(UnsupportedKioskEncoding):
            service.create_kiosk(session, data=kiosk_data(encoding="big5"), actor="t", now=NOW)

    def test_validates_login_and_password(self) -> None:
        with pytest.raises(ValidationError):
            kiosk_data(login="bad login!")
        with pytest.raises(ValidationError):
            kiosk_data(password="short")


@pytest.mark.usefixtures("network")
class TestAuthenticateKiosk:
    def test_accepts_the_right_password(self, session: Session) -> None:
        made = service.create_kiosk(session, data=kiosk_data(), actor="t", now=NOW)
        assert service.authenticate_kiosk(session, login=" sc-cen-1 ", password=PASSWORD) is made

    @pytest.mark.parametrize(("login", "password"), [("sc-cen-1", "wrong"), ("nobody", PASSWORD)])
    def test_one_error_for_wrong_password_and_unknown_login(
        self, session: Session, login: str, password: str
    ) -> None:
        service.create_kiosk(session, data=kiosk_data(), actor="t", now=NOW)
        with pytest.raises(InvalidKioskCredentials):
            service.authenticate_kiosk(session, login=login, password=password)

    def test_refuses_a_deactivated_kiosk(self, session: Session) -> None:
        kiosk = service.create_kiosk(session, data=kiosk_data(), actor="t", now=NOW)
        kiosk.active = False
        with pytest.raises(InvalidKioskCredentials):
            service.authenticate_kiosk(session, login="sc-cen-1", password=PASSWORD)


@pytest.mark.usefixtures("network")
def test_list_kiosks_by_branch(session: Session) -> None:
    service.create_kiosk(session, data=kiosk_data(login="b"), actor="t", now=NOW)
    service.create_kiosk(session, data=kiosk_data(login="a", branch_code="B01"), actor="t", now=NOW)
    assert [k.login for k in service.list_kiosks(session)] == ["a", "b"]
    assert [k.login for k in service.list_kiosks(session, branch_code="b01")] == ["a"]
