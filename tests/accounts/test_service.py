from __future__ import annotations

import time
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from shulian.accounts import service
from shulian.accounts.errors import (
    CardNumberTaken,
    InvalidCredentials,
    InvalidReaderQR,
    UnknownReaderCategory,
    UnknownRole,
    UsernameTaken,
)
from shulian.accounts.schemas import ReaderStatus, ReaderUpdate
from shulian.core.events import Event
from shulian.core.security import Principal, Signer
from tests.conftest import NOW
from tests.factories.accounts import PASSWORD, make_reader, make_staff
from tests.factories.consortium import make_network

SECRET = "unit-secret"
LIMITS = {"secret": SECRET, "max_failures": 5, "window": timedelta(minutes=15)}


@pytest.fixture
def network(session: Session) -> None:
    make_network(session)


@pytest.mark.usefixtures("network")
class TestRegisterReader:
    def test_registers_with_hashed_password(self, session: Session) -> None:
        reader = make_reader(session, card="r100", category="student", branch="B01")
        assert reader.card_number == "R100"
        assert reader.status is ReaderStatus.ACTIVE
        assert reader.password_hash is not None and reader.password_hash.startswith("$argon2id$")
        assert PASSWORD not in reader.password_hash

    def test_event_carries_no_personal_data(self, session: Session) -> None:
        reader = make_reader(session, name="李小龙")
        ev = session.scalars(select(Event).where(Event.subject == f"reader:{reader.id}")).one()
        text = repr((ev.payload, ev.subject, ev.actor))
        assert ev.type == "accounts.reader_registered"
        for personal in ("李小龙", "13800000000", "reader@example.org", reader.card_number):
            assert personal not in text

    def test_rejects_a_card_number_in_use(self, session: Session) -> None:
        make_reader(session, card="R200")
        with pytest.raises(CardNumberTaken, match="R200"):
            make_reader(session, card="r200")

    def test_rejects_an_unknown_category(self, session: Session) -> None:
        with pytest.raises(UnknownReaderCategory, match="pirate"):
            make_reader(session, category="pirate")

    def test_update_records_fields_changed_not_their_personal_values(
        self, session: Session
    ) -> None:
        reader = make_reader(session)
        service.update_reader(
            session,
            reader_id=reader.id,
            data=ReaderUpdate(phone="13911112222", status=ReaderStatus.BLOCKED),
            actor="staff:1",
            now=NOW,
        )
        assert reader.status is ReaderStatus.BLOCKED and reader.phone == "13911112222"
        ev = session.scalars(
            select(Event).where(
                Event.type == "accounts.reader_updated", Event.subject == f"reader:{reader.id}"
            )
        ).one()
        assert ev.payload["fields"] == ["phone", "status"]
        assert ev.payload["values"] == {"status": "blocked"}
        assert "13911112222" not in repr(ev.payload)


@pytest.mark.usefixtures("network")
class TestStaff:
    def test_roles_give_permissions(self, session: Session) -> None:
        staff = make_staff(session, roles=["cataloguer", "reviewer"])
        perms = service.staff_permissions(session, staff.id)
        assert {"catalog.record.create", "catalog.record.review"} <= perms
        assert "catalog.record.publish" not in perms

    def test_separation_of_duties_in_the_default_roles(self, session: Session) -> None:
        roles = {r.code: set(p) for r, p in service.list_roles(session)}
        assert "catalog.record.publish" not in roles["cataloguer"] | roles["reviewer"]
        assert "catalog.record.create" not in roles["reviewer"] | roles["publisher"]
        assert "accounts.staff.manage" in roles["admin"]

    def test_rejects_unknown_role_and_taken_username(self, session: Session) -> None:
        with pytest.raises(UnknownRole, match="wizard"):
            make_staff(session, roles=["wizard"])
        make_staff(session, roles=[], username="li.ming")
        with pytest.raises(UsernameTaken, match=r"li\.ming"):
            make_staff(session, roles=[], username="li.ming")


@pytest.mark.usefixtures("network")
class TestAuthenticate:
    def test_staff_logs_in(self, session: Session) -> None:
        staff = make_staff(session, roles=[], username="wang")
        got = service.authenticate_staff(
            session, username="Wang", password=PASSWORD, client="1.2.3.4", now=NOW, **LIMITS
        )
        assert got.id == staff.id

    def test_unknown_user_and_wrong_password_look_the_same(self, session: Session) -> None:
        make_staff(session, roles=[], username="wang")
        errors = []
        timings = []
        for username in ("wang", "nobody"):
            start = time.perf_counter()
            with pytest.raises(InvalidCredentials) as err:
                service.authenticate_staff(
                    session,
                    username=username,
                    password="wrong",
                    client="1.2.3.4",
                    now=NOW,
                    **LIMITS,
                )
            timings.append(time.perf_counter() - start)
            errors.append((err.value.code, err.value.detail, err.value.status_code))
        assert errors[0] == errors[1]
        # Both paths run one Argon2 verification: neither answers in a fraction of the other.
        assert min(timings) > max(timings) / 5

    def test_closed_reader_account_cannot_log_in(self, session: Session) -> None:
        reader = make_reader(session, card="R301")
        service.update_reader(
            session,
            reader_id=reader.id,
            data=ReaderUpdate(status=ReaderStatus.LEFT),
            actor="t",
            now=NOW,
        )
        with pytest.raises(InvalidCredentials):
            service.authenticate_reader(
                session, card_number="R301", password=PASSWORD, client="c", now=NOW, **LIMITS
            )

    def test_password_change_ends_every_login(self, session: Session) -> None:
        reader = make_reader(session)
        opened = [
            service.open_session(
                session,
                kind="reader",
                account_id=reader.id,
                channel=channel,
                now=NOW,
                lifetime=timedelta(hours=8),
            )
            for channel in ("page", "api")
        ]
        principal = service.principal_for_token(
            session, token=opened[0].token, channel="page", now=NOW
        )
        assert principal is not None
        service.change_password(
            session, principal=principal, current=PASSWORD, new="n3w-pass", now=NOW
        )
        for login, channel in zip(opened, ("page", "api"), strict=True):
            assert (
                service.principal_for_token(session, token=login.token, channel=channel, now=NOW)
                is None
            )
        with pytest.raises(InvalidCredentials):
            service.change_password(
                session, principal=principal, current="bad", new="whatever", now=NOW
            )


@pytest.mark.usefixtures("network")
class TestReaderQR:
    def test_desk_resolves_a_fresh_code(self, session: Session) -> None:
        reader = make_reader(session)
        signer = Signer(SECRET, "reader-qr")
        code = service.issue_reader_qr(reader, signer=signer)
        assert reader.card_number not in code and "张三" not in code
        assert (
            service.resolve_reader_qr(session, code=code, signer=signer, max_age=300).id
            == reader.id
        )

    def test_rejects_tampered_foreign_and_expired_codes(self, session: Session) -> None:
        reader = make_reader(session)
        signer = Signer(SECRET, "reader-qr")
        code = service.issue_reader_qr(reader, signer=signer)
        tampered = code[:-3] + ("AAA" if not code.endswith("AAA") else "BBB")
        foreign = service.issue_reader_qr(reader, signer=Signer("another-library", "reader-qr"))
        for bad in (tampered, foreign, "R0001", "SLR1.garbage"):
            with pytest.raises(InvalidReaderQR):
                service.resolve_reader_qr(session, code=bad, signer=signer, max_age=300)
        time.sleep(1.1)
        with pytest.raises(InvalidReaderQR):
            service.resolve_reader_qr(session, code=code, signer=signer, max_age=0)

    def test_password_change_revokes_the_code(self, session: Session) -> None:
        reader = make_reader(session, expires_on=date(2030, 1, 1))
        signer = Signer(SECRET, "reader-qr")
        code = service.issue_reader_qr(reader, signer=signer)
        principal = Principal(kind="reader", id=reader.id, display_name=reader.name)
        service.change_password(
            session, principal=principal, current=PASSWORD, new="another-pass", now=NOW
        )
        with pytest.raises(InvalidReaderQR):
            service.resolve_reader_qr(session, code=code, signer=signer, max_age=300)
