"""Login sessions kept server-side: a login ends when it is revoked, not at its expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shulian.accounts import service
from shulian.accounts.errors import CannotDisableOwnAccount, LoginSessionNotFound
from shulian.accounts.models import LoginFailure, LoginSession
from shulian.accounts.schemas import ReaderStatus, ReaderUpdate
from shulian.accounts.worker import SeenSessions, SessionWorker
from shulian.core.events import Event
from shulian.core.security import PrincipalKind
from tests.conftest import NOW
from tests.factories.accounts import make_reader, make_staff
from tests.factories.consortium import make_network

HOURS8 = timedelta(hours=8)


@pytest.fixture(autouse=True)
def network(session: Session) -> None:
    make_network(session)


def login(
    session: Session,
    kind: PrincipalKind,
    account_id: int,
    channel: service.Channel = "page",
    *,
    at=NOW,  # type: ignore[no-untyped-def]
) -> service.OpenedSession:
    return service.open_session(
        session,
        kind=kind,
        account_id=account_id,
        channel=channel,
        now=at,
        lifetime=HOURS8,
        client="198.51.100.7",
        user_agent="Mozilla/5.0 (Linux; Android 14) Chrome/131.0 Mobile Safari/537.36",
    )


def who(session: Session, opened: service.OpenedSession, channel: service.Channel = "page", at=NOW):  # type: ignore[no-untyped-def]
    return service.principal_for_token(session, token=opened.token, channel=channel, now=at)


class TestLookup:
    def test_a_login_names_its_account_and_itself(self, session: Session) -> None:
        staff = make_staff(session, roles=["circulation"], branch="B01")
        opened = login(session, "staff", staff.id)
        principal = who(session, opened)
        assert principal is not None
        assert (principal.kind, principal.id, principal.branch_code) == ("staff", staff.id, "B01")
        assert principal.can("circulation.desk") and principal.session_id == opened.id

    def test_the_table_keeps_no_usable_token(self, session: Session) -> None:
        reader = make_reader(session)
        opened = login(session, "reader", reader.id)
        stored = session.scalars(select(LoginSession.token_hash)).all()
        assert opened.token not in repr(stored) and len(opened.token) >= 40

    def test_unknown_expired_and_other_channel_tokens_log_nobody_in(self, session: Session) -> None:
        reader = make_reader(session)
        opened = login(session, "reader", reader.id)
        assert who(session, opened, at=NOW + HOURS8 - timedelta(seconds=1)) is not None
        assert who(session, opened, at=NOW + HOURS8) is None
        assert who(session, opened, channel="api") is None
        forged = service.OpenedSession(id=opened.id, token=opened.token[:-2] + "xx", expires_at=NOW)
        assert who(session, forged) is None


class TestEnding:
    def test_logout_ends_that_login_only(self, session: Session) -> None:
        reader = make_reader(session)
        phone, laptop = login(session, "reader", reader.id), login(session, "reader", reader.id)
        service.end_session(session, session_id=phone.id, now=NOW)
        assert who(session, phone) is None and who(session, laptop) is not None

    def test_log_out_everywhere_ends_pages_and_api_tokens_and_is_recorded(
        self, session: Session
    ) -> None:
        reader = make_reader(session)
        page, api = login(session, "reader", reader.id), login(session, "reader", reader.id, "api")
        other = login(session, "reader", make_reader(session).id)
        principal = who(session, page)
        assert principal is not None
        assert service.log_out_everywhere(session, principal=principal, now=NOW) == 2
        assert who(session, page) is None and who(session, api, "api") is None
        assert who(session, other) is not None
        event = session.scalars(
            select(Event).where(Event.type == "accounts.logged_out_everywhere")
        ).one()
        assert event.subject == f"reader:{reader.id}" and event.payload == {"sessions": 2}

    def test_one_can_end_ones_own_logins_but_nobody_elses(self, session: Session) -> None:
        mine, theirs = make_reader(session), make_reader(session)
        phone, laptop = login(session, "reader", mine.id), login(session, "reader", mine.id)
        foreign = login(session, "reader", theirs.id)
        me = who(session, laptop)
        assert me is not None
        service.revoke_own_session(session, principal=me, session_id=phone.id, now=NOW)
        assert who(session, phone) is None
        with pytest.raises(LoginSessionNotFound, match=f"#{foreign.id}"):
            service.revoke_own_session(session, principal=me, session_id=foreign.id, now=NOW)
        assert who(session, foreign) is not None

    def test_closing_a_reader_account_ends_its_logins(self, session: Session) -> None:
        reader = make_reader(session)
        opened = login(session, "reader", reader.id, "api")
        service.update_reader(
            session,
            reader_id=reader.id,
            data=ReaderUpdate(status=ReaderStatus.BLOCKED),
            actor="staff:1",
            now=NOW,
        )
        assert who(session, opened, "api") is not None  # a blocked reader may still look
        service.update_reader(
            session,
            reader_id=reader.id,
            data=ReaderUpdate(status=ReaderStatus.LEFT),
            actor="staff:1",
            now=NOW,
        )
        assert who(session, opened, "api") is None
        revoked = session.scalar(
            select(LoginSession.revoked_at).where(LoginSession.id == opened.id)
        )
        assert revoked == NOW


class TestStaffManagers:
    def test_disabling_a_staff_account_ends_its_logins_at_once(self, session: Session) -> None:
        admin = make_staff(session, roles=["admin"])
        desk = make_staff(session, roles=["circulation"])
        page, api = login(session, "staff", desk.id), login(session, "staff", desk.id, "api")
        service.set_staff_active(
            session, staff_id=desk.id, active=False, actor=f"staff:{admin.id}", now=NOW
        )
        assert who(session, page) is None and who(session, api, "api") is None
        event = session.scalars(select(Event).where(Event.type == "accounts.staff_updated")).one()
        assert event.payload == {"active": False, "sessions_revoked": 2}
        # Enabled again, the old logins stay ended; a new one works.
        service.set_staff_active(
            session, staff_id=desk.id, active=True, actor=f"staff:{admin.id}", now=NOW
        )
        assert who(session, page) is None
        assert who(session, login(session, "staff", desk.id)) is not None

    def test_nobody_disables_their_own_account(self, session: Session) -> None:
        admin = make_staff(session, roles=["admin"])
        with pytest.raises(CannotDisableOwnAccount):
            service.set_staff_active(
                session, staff_id=admin.id, active=False, actor=f"staff:{admin.id}", now=NOW
            )

    def test_a_manager_sees_and_ends_a_staff_members_logins(self, session: Session) -> None:
        desk = make_staff(session, roles=["circulation"])
        first = login(session, "staff", desk.id)
        second = login(session, "staff", desk.id, "api", at=NOW + timedelta(minutes=5))
        seen = service.staff_sessions(session, staff_id=desk.id, now=NOW + timedelta(minutes=6))
        assert [(s.id, s.channel) for s in seen] == [(second.id, "api"), (first.id, "page")]
        assert seen[0].client_address == "198.51.100.7" and "Android" in seen[0].user_agent
        service.revoke_staff_session(
            session, staff_id=desk.id, session_id=first.id, actor="staff:1", now=NOW
        )
        assert who(session, first) is None and who(session, second, "api") is not None
        assert (
            service.revoke_all_staff_sessions(session, staff_id=desk.id, actor="staff:1", now=NOW)
            == 1
        )
        assert who(session, second, "api") is None


class TestSessionsWorker:
    def test_it_writes_when_each_login_was_last_used_and_deletes_expired_ones(
        self, session: Session, session_factory
    ) -> None:  # type: ignore[no-untyped-def]
        reader = make_reader(session)
        old = login(session, "reader", reader.id, at=NOW - timedelta(hours=9))
        current = login(session, "reader", reader.id)
        session.add(LoginFailure(account_key="a", client_key="c", failed_at=NOW - HOURS8))
        session.commit()
        seen = SeenSessions()
        seen.note(current.id, NOW + timedelta(minutes=20))
        seen.note(current.id, NOW + timedelta(minutes=10))  # an earlier request, noted late
        worker = SessionWorker(
            session_factory,
            seen=seen,
            clock=lambda: NOW + timedelta(minutes=30),
            failure_window=timedelta(minutes=15),
        )
        assert worker.run_step()
        session.expire_all()
        rows = {r.id: r for r in session.scalars(select(LoginSession))}
        assert old.id not in rows  # expired an hour ago: gone, with its address
        assert rows[current.id].last_seen_at == NOW + timedelta(minutes=20)
        assert session.scalar(select(func.count()).select_from(LoginFailure)) == 0
        assert seen.take() == {}
