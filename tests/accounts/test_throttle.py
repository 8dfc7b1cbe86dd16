"""The login throttle: guessing is slowed down per address and per account-and-address, and an
account under attack is never locked for its owner."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shulian.accounts import service
from shulian.accounts.errors import InvalidCredentials, TooManyLoginAttempts
from shulian.accounts.models import LoginFailure
from tests.conftest import NOW
from tests.factories.accounts import PASSWORD, make_reader, make_staff
from tests.factories.consortium import make_network

SECRET = "unit-secret"
LIMITS = {"secret": SECRET, "max_failures": 5, "window": timedelta(minutes=15)}


@pytest.fixture(autouse=True)
def network(session: Session) -> None:
    make_network(session)


def reader_login(session: Session, card: str, password: str, client: str, *, at=NOW):  # type: ignore[no-untyped-def]
    return service.authenticate_reader(
        session, card_number=card, password=password, client=client, now=at, **LIMITS
    )


def fail(session: Session, card: str, client: str, *, at=NOW) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidCredentials):
        reader_login(session, card, "guess", client, at=at)


class TestOneAddressOneAccount:
    def test_five_failures_hold_that_address_back_with_the_time_to_wait(
        self, session: Session
    ) -> None:
        reader = make_reader(session, card="R300")
        for i in range(5):
            fail(session, "R300", "9.9.9.9", at=NOW + timedelta(seconds=i))
        with pytest.raises(TooManyLoginAttempts) as refused:
            reader_login(session, "R300", PASSWORD, "9.9.9.9", at=NOW + timedelta(seconds=10))
        # Until the first of the five is 15 minutes old.
        assert refused.value.retry_after == 15 * 60 - 10
        assert refused.value.detail == "Too many failed logins; try again in 15 minutes"
        later = NOW + timedelta(minutes=15, seconds=1)
        assert reader_login(session, "R300", PASSWORD, "9.9.9.9", at=later).id == reader.id

    def test_a_success_forgets_that_address_failures(self, session: Session) -> None:
        make_reader(session, card="R301")
        for _ in range(4):
            fail(session, "R301", "9.9.9.9")
        reader_login(session, "R301", PASSWORD, "9.9.9.9")
        for _ in range(4):
            fail(session, "R301", "9.9.9.9", at=NOW + timedelta(minutes=1))


class TestTheOwnerIsNeverLockedOut:
    @pytest.mark.slow  # a few dozen Argon2 verifications
    def test_the_reader_gets_in_from_home_while_their_card_is_hammered_from_elsewhere(
        self, session: Session
    ) -> None:
        reader = make_reader(session, card="R0001")
        # Ten attackers try every second for a minute: all but a few tries are held back.
        held_back = 0
        for second in range(60):
            for n in range(10):
                try:
                    reader_login(
                        session,
                        "R0001",
                        "guess",
                        f"203.0.113.{n}",
                        at=NOW + timedelta(seconds=second),
                    )
                except TooManyLoginAttempts:
                    held_back += 1
                except InvalidCredentials:
                    pass
        failures = session.scalar(select(func.count()).select_from(LoginFailure))
        assert failures is not None and failures < 40 and held_back == 600 - failures
        # The reader, from their own address, with the right password, in the middle of it.
        at = NOW + timedelta(seconds=59)
        assert reader_login(session, "R0001", PASSWORD, "198.51.100.7", at=at).id == reader.id

    @pytest.mark.slow
    def test_the_desk_staff_account_stays_usable_at_the_desk(self, session: Session) -> None:
        staff = make_staff(session, roles=["circulation"], username="desk")
        for n in range(12):
            with pytest.raises((InvalidCredentials, TooManyLoginAttempts)):
                service.authenticate_staff(
                    session, username="desk", password="x", client=f"10.9.{n}.1", now=NOW, **LIMITS
                )
        got = service.authenticate_staff(
            session, username="desk", password=PASSWORD, client="10.0.0.5", now=NOW, **LIMITS
        )
        assert got.id == staff.id

    def test_an_account_guessed_at_from_many_addresses_slows_each_of_them_down(
        self, session: Session
    ) -> None:
        make_reader(session, card="R302")
        # One try each from ten addresses: the account has 10 failures (5 over the limit).
        for n in range(10):
            fail(session, "R302", f"203.0.113.{n}")
        # An address that has tried must now wait 2^5 s after its own last try...
        with pytest.raises(TooManyLoginAttempts) as refused:
            reader_login(session, "R302", "guess", "203.0.113.0", at=NOW + timedelta(seconds=1))
        assert refused.value.retry_after == 31
        assert refused.value.detail == "Too many failed logins; try again in 31 seconds"
        fail(session, "R302", "203.0.113.0", at=NOW + timedelta(seconds=32))
        # ...and the wait doubles with every failure on the account.
        with pytest.raises(TooManyLoginAttempts) as refused:
            reader_login(session, "R302", "guess", "203.0.113.0", at=NOW + timedelta(seconds=33))
        assert refused.value.retry_after == 64 - 1


class TestOneAddressManyAccounts:
    def test_trying_card_after_card_is_held_back(self, session: Session) -> None:
        # Card numbers are sequential: one address sweeping them meets the address limit, four
        # times the limit of one account (with a limit of 2 here, to keep Argon2's work small).
        limits = {**LIMITS, "max_failures": 2}
        for n in range(8):
            with pytest.raises(InvalidCredentials):
                service.authenticate_reader(
                    session,
                    card_number=f"R{n:04d}",
                    password="guess",
                    client="9.9.9.9",
                    now=NOW + timedelta(seconds=n),
                    **limits,
                )
        with pytest.raises(TooManyLoginAttempts) as refused:
            service.authenticate_reader(
                session,
                card_number="R0021",
                password="guess",
                client="9.9.9.9",
                now=NOW + timedelta(seconds=30),
                **limits,
            )
        assert refused.value.retry_after == 15 * 60 - 30
        # Another address is not held back by it.
        with pytest.raises(InvalidCredentials):
            service.authenticate_reader(
                session,
                card_number="R0021",
                password="guess",
                client="9.9.9.10",
                now=NOW + timedelta(seconds=30),
                **limits,
            )


class TestNoEnumeration:
    def test_unknown_and_known_cards_are_throttled_alike(self, session: Session) -> None:
        make_reader(session, card="R400")
        answers = []
        for card in ("R400", "R499"):
            for _ in range(5):
                fail(session, card, "9.9.9.9")
            with pytest.raises(TooManyLoginAttempts) as refused:
                reader_login(session, card, "guess", "9.9.9.9")
            answers.append((refused.value.detail, refused.value.retry_after))
        assert answers[0] == answers[1]

    def test_the_throttle_table_holds_no_names_or_addresses(self, session: Session) -> None:
        with pytest.raises(InvalidCredentials):
            service.authenticate_staff(
                session, username="zhangsan", password="x", client="10.1.2.3", now=NOW, **LIMITS
            )
        rows = session.execute(select(LoginFailure.account_key, LoginFailure.client_key)).all()
        assert rows
        assert all("zhangsan" not in a and "10.1.2.3" not in c for a, c in rows)
