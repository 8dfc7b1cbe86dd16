"""Logins (with throttling), the principal behind a cookie or token, and password changes."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from shulian.accounts.errors import InvalidCredentials, TooManyLoginAttempts
from shulian.accounts.models import LoginFailure, Reader, StaffAccount
from shulian.accounts.service.readers import get_reader
from shulian.accounts.service.staff import get_staff, staff_permissions
from shulian.accounts.types import ReaderStatus
from shulian.consortium import service as consortium_service
from shulian.core import events
from shulian.core.security import (
    Principal,
    hash_password,
    keyed_digest,
    needs_rehash,
    verify_password,
)


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
    the same message, after the same Argon2 work. Raises also TooManyLoginAttempts once an
    account or a client address has failed ``max_failures`` times within ``window``.
    """
    keys = _throttle_keys(secret, "staff", username.strip().lower(), client)
    _check_throttle(session, keys, now=now, max_failures=max_failures, window=window)
    staff = session.scalars(
        select(StaffAccount).where(StaffAccount.username == username.strip().lower())
    ).first()
    ok = verify_password(staff.password_hash if staff else None, password)
    if staff is None or not ok or not staff.active:
        _record_failure(session, keys, now)
        raise InvalidCredentials()
    if needs_rehash(staff.password_hash):
        staff.password_hash = hash_password(password)
    _clear_failures(session, keys[0])
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
    keys = _throttle_keys(secret, "reader", card, client)
    _check_throttle(session, keys, now=now, max_failures=max_failures, window=window)
    reader = session.scalars(select(Reader).where(Reader.card_number == card)).first()
    ok = verify_password(reader.password_hash if reader else None, password)
    if reader is None or not ok or reader.status is ReaderStatus.LEFT:
        _record_failure(session, keys, now)
        raise InvalidCredentials()
    if reader.password_hash and needs_rehash(reader.password_hash):
        reader.password_hash = hash_password(password)
    _clear_failures(session, keys[0])
    return reader


def _throttle_keys(secret: str, kind: str, account: str, client: str) -> tuple[str, str]:
    # Digests, not names or addresses: the throttle table holds no personal data.
    return keyed_digest(secret, f"{kind}:{account}"), keyed_digest(secret, f"ip:{client}")


def _check_throttle(
    session: Session, keys: tuple[str, str], *, now: datetime, max_failures: int, window: timedelta
) -> None:
    since = now - window
    session.execute(delete(LoginFailure).where(LoginFailure.failed_at < since))
    # The client address gets more room than one account: a desk PC serves many people.
    for key, limit in ((keys[0], max_failures), (keys[1], max_failures * 4)):
        count = session.scalar(
            select(func.count()).where(LoginFailure.key == key, LoginFailure.failed_at >= since)
        )
        if (count or 0) >= limit:
            raise TooManyLoginAttempts(max(1, int(window.total_seconds() // 60)))


def _record_failure(session: Session, keys: tuple[str, str], now: datetime) -> None:
    session.add_all(LoginFailure(key=k, failed_at=now) for k in keys)
    session.flush()


def _clear_failures(session: Session, account_key: str) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.key == account_key))


def principal_for(
    session: Session, kind: str, account_id: int, auth_version: int
) -> Principal | None:
    """The principal behind a cookie or token, or None when the account is gone, deactivated,
    or has logged out everywhere / changed password since (``auth_version``)."""
    if kind == "staff":
        staff = session.get(StaffAccount, account_id)
        if staff is None or not staff.active or staff.auth_version != auth_version:
            return None
        branch = (
            consortium_service.get_branch(session, staff.branch_id).code
            if staff.branch_id
            else None
        )
        return Principal(
            kind="staff",
            id=staff.id,
            display_name=staff.display_name,
            permissions=staff_permissions(session, staff.id),
            branch_code=branch,
            auth_version=staff.auth_version,
        )
    if kind == "reader":
        reader = session.get(Reader, account_id)
        if (
            reader is None
            or reader.status is ReaderStatus.LEFT
            or reader.auth_version != auth_version
        ):
            return None
        return Principal(
            kind="reader",
            id=reader.id,
            display_name=reader.name,
            branch_code=consortium_service.get_branch(session, reader.home_branch_id).code,
            auth_version=reader.auth_version,
        )
    return None


def change_password(
    session: Session, *, principal: Principal, current: str, new: str, now: datetime
) -> None:
    """Change one's own password; every other session and token is logged out.

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
    session.flush()
    events.record(
        session,
        type="accounts.password_changed",
        now=now,
        actor=principal.actor,
        subject=principal.actor,
        payload={},
    )
