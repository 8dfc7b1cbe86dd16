"""Logins with throttling, and password changes.

The throttle counts failed logins (and SIP2 patron passwords) by account *and* client address
together, and by client address alone; it never locks an account as a whole, since the card
numbers are sequential and anyone could then lock any reader out:

- one client address and one account: ``max_failures`` in ``window``, then wait until the oldest
  of them is ``window`` old;
- one client address, any accounts (trying card after card): ``4 × max_failures`` in ``window``;
- one account from many addresses: once it has ``max_failures`` failures in ``window``, each
  address that has already failed on it waits a delay that doubles with every further failure
  (1 s, 2 s, 4 s ... up to ``window``) before its next try. An address that has not failed on
  the account (its owner at home, the desk) is not delayed at all.

Refusals say how long to wait (``TooManyLoginAttempts.retry_after``). Unknown accounts are
counted like known ones, so the throttle tells nothing about which accounts exist.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, func, or_, select
from sqlalchemy.orm import Session

from shulian.accounts.errors import InvalidCredentials, TooManyLoginAttempts
from shulian.accounts.models import LoginFailure, Reader, StaffAccount
from shulian.accounts.service.readers import get_reader
from shulian.accounts.service.revocation import revoke_account_sessions
from shulian.accounts.service.staff import get_staff
from shulian.accounts.types import ReaderStatus
from shulian.core import events
from shulian.core.security import (
    Principal,
    hash_password,
    keyed_digest,
    needs_rehash,
    verify_password,
)

#: How many more failures a client address may have than one account from it: a desk PC or a
#: school's network serves many people.
PER_CLIENT_FACTOR = 4


def authenticate_staff(
    session: Session,
    *,
    username: str,
    password: str,
    client: str,
    secret: str,
    now: datetime,
    max_failures: int,
    window: timedelta,
) -> StaffAccount:
    """Check a staff login.

    Unknown user, wrong password and a deactivated account all give ``InvalidCredentials`` with
    the same message, after the same Argon2 work. Raises TooManyLoginAttempts (see the module's
    rules) before any password is checked.
    """
    name = username.strip().lower()
    attempt = LoginAttempt(kind="staff", account=name, client=client, secret=secret)
    check_login_throttle(
        session, attempt=attempt, now=now, max_failures=max_failures, window=window
    )
    staff = session.scalars(select(StaffAccount).where(StaffAccount.username == name)).first()
    ok = verify_password(staff.password_hash if staff else None, password)
    if staff is None or not ok or not staff.active:
        record_login_failure(session, attempt=attempt, now=now)
        raise InvalidCredentials()
    if needs_rehash(staff.password_hash):
        staff.password_hash = hash_password(password)
    clear_login_failures(session, attempt=attempt)
    return staff


def authenticate_reader(
    session: Session,
    *,
    card_number: str,
    password: str,
    client: str,
    secret: str,
    now: datetime,
    max_failures: int,
    window: timedelta,
) -> Reader:
    """Check a reader login by card number. Same rules and errors as ``authenticate_staff``;
    a reader whose account is closed (``left``) cannot log in; a blocked one can, to see why."""
    card = card_number.strip().upper()
    attempt = LoginAttempt(kind="reader", account=card, client=client, secret=secret)
    check_login_throttle(
        session, attempt=attempt, now=now, max_failures=max_failures, window=window
    )
    reader = session.scalars(select(Reader).where(Reader.card_number == card)).first()
    ok = verify_password(reader.password_hash if reader else None, password)
    if reader is None or not ok or reader.status is ReaderStatus.LEFT:
        record_login_failure(session, attempt=attempt, now=now)
        raise InvalidCredentials()
    if reader.password_hash and needs_rehash(reader.password_hash):
        reader.password_hash = hash_password(password)
    clear_login_failures(session, attempt=attempt)
    return reader


@dataclass(frozen=True)
class LoginAttempt:
    """Who is trying which account: ``account`` is the normalised name (username, card
    number), ``client`` the address or kiosk trying it; ``secret`` keys their digests."""

    kind: str
    account: str
    client: str
    secret: str = field(repr=False)

    def keys(self) -> tuple[str, str]:
        # Digests, not names or addresses: the throttle table holds no personal data.
        return (
            keyed_digest(self.secret, f"{self.kind}:{self.account}"),
            keyed_digest(self.secret, f"ip:{self.client}"),
        )


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))


def check_login_throttle(
    session: Session,
    *,
    attempt: LoginAttempt,
    now: datetime,
    max_failures: int,
    window: timedelta,
) -> None:
    """Refuse a login attempt that the throttle holds back (the module's rules).

    Raises: TooManyLoginAttempts, saying how many seconds to wait.
    """
    account_key, client_key = attempt.keys()
    pair = and_(LoginFailure.account_key == account_key, LoginFailure.client_key == client_key)
    from_client = LoginFailure.client_key == client_key
    on_account = LoginFailure.account_key == account_key
    counts = session.execute(
        select(
            func.count(case((pair, 1))),
            func.min(case((pair, LoginFailure.failed_at))),
            func.max(case((pair, LoginFailure.failed_at))),
            func.count(case((from_client, 1))),
            func.min(case((from_client, LoginFailure.failed_at))),
            func.count(case((on_account, 1))),
        ).where(LoginFailure.failed_at > now - window, or_(on_account, from_client))
    ).one()
    pair_count, pair_first, pair_last, client_count, client_first, account_count = counts
    if pair_count >= max_failures and pair_first is not None:
        raise TooManyLoginAttempts(_seconds_until(pair_first + window, now))
    if client_count >= max_failures * PER_CLIENT_FACTOR and client_first is not None:
        raise TooManyLoginAttempts(_seconds_until(client_first + window, now))
    if account_count >= max_failures and pair_last is not None:
        # The account is being guessed at from several places: slow down each of them, more
        # with every failure, without holding back an address that has not failed on it.
        exponent = min(account_count - max_failures, 30)
        delay = min(timedelta(seconds=2**exponent), window)
        if now < pair_last + delay:
            raise TooManyLoginAttempts(_seconds_until(pair_last + delay, now))


def record_login_failure(session: Session, *, attempt: LoginAttempt, now: datetime) -> None:
    """Count a failed attempt (the caller keeps it even though the request fails)."""
    account_key, client_key = attempt.keys()
    session.add(LoginFailure(account_key=account_key, client_key=client_key, failed_at=now))
    session.flush()


def clear_login_failures(session: Session, *, attempt: LoginAttempt) -> None:
    """After a success: forget this address's failures on this account (only these: others'
    failures on the account still slow them down)."""
    account_key, client_key = attempt.keys()
    session.execute(
        delete(LoginFailure).where(
            LoginFailure.account_key == account_key, LoginFailure.client_key == client_key
        )
    )


def change_password(
    session: Session, *, principal: Principal, current: str, new: str, now: datetime
) -> None:
    """Change one's own password; every login and API token of the account ends, this one
    included, and the reader's QR codes already shown stop working.

    Raises: InvalidCredentials when ``current`` is wrong.
    """
    account: Reader | StaffAccount
    account = (
        get_reader(session, principal.id)
        if principal.kind == "reader"
        else get_staff(session, principal.id)
    )
    if not verify_password(account.password_hash, current):
        raise InvalidCredentials()
    account.password_hash = hash_password(new)
    account.auth_version += 1
    revoke_account_sessions(session, kind=principal.kind, account_id=principal.id, now=now)
    session.flush()
    events.record(
        session,
        type="accounts.password_changed",
        now=now,
        actor=principal.actor,
        subject=principal.actor,
        payload={},
    )
