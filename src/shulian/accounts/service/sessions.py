"""Login sessions kept server-side: page logins (a cookie) and API bearer tokens alike.

The browser or client holds a random secret; the ``login_sessions`` table keeps its SHA-256, the
account, when it was created and last seen, when it expires and whether it was revoked. Each
request looks its secret up together with the account in one indexed read; logging out revokes
that one row, "log out everywhere" (and a password change, and disabling an account) revokes
them all, so a copied cookie or token stops working at once instead of at its expiry.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.orm import Session

from shulian.accounts.errors import LoginSessionNotFound
from shulian.accounts.models import LoginFailure, LoginSession, Reader, StaffAccount
from shulian.accounts.schemas import LoginSessionRead
from shulian.accounts.service.revocation import revoke_account_sessions
from shulian.accounts.service.staff import staff_permissions
from shulian.accounts.types import ReaderStatus
from shulian.consortium import service as consortium_service
from shulian.core import events
from shulian.core.security import Principal, PrincipalKind

Channel = Literal["page", "api"]
#: How long an address and browser string may be; longer ones are cut (they are only shown).
ADDRESS_LENGTH, AGENT_LENGTH = 64, 200


@dataclass(frozen=True)
class OpenedSession:
    """A new login: ``token`` goes to the client once (cookie or bearer token) and is kept
    nowhere else."""

    id: int
    token: str
    expires_at: datetime


def token_digest(token: str) -> str:
    """What the table keeps of a token. The token is 256 random bits: a plain hash suffices."""
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(
    session: Session,
    *,
    kind: PrincipalKind,
    account_id: int,
    channel: Channel,
    now: datetime,
    lifetime: timedelta,
    client: str = "",
    user_agent: str = "",
) -> OpenedSession:
    """Start a login for an account already authenticated; returns its secret token."""
    token = secrets.token_urlsafe(32)
    row = LoginSession(
        token_hash=token_digest(token),
        channel=channel,
        staff_id=account_id if kind == "staff" else None,
        reader_id=account_id if kind == "reader" else None,
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
        revoked_at=None,
        client_address=client[:ADDRESS_LENGTH],
        user_agent=user_agent[:AGENT_LENGTH],
    )
    session.add(row)
    session.flush()
    return OpenedSession(id=row.id, token=token, expires_at=row.expires_at)


def principal_for_token(
    session: Session, *, token: str, channel: Channel, now: datetime
) -> Principal | None:
    """Who holds this cookie or token: None when it is unknown, revoked or expired, when it was
    issued for the other channel, or when its account is disabled or closed.

    One indexed read finds the session and its account together (staff then also read their
    permissions, everyone their branch's code)."""
    if not token or len(token) > 128:
        return None
    row = session.execute(
        select(LoginSession, StaffAccount, Reader)
        .outerjoin(StaffAccount, LoginSession.staff_id == StaffAccount.id)
        .outerjoin(Reader, LoginSession.reader_id == Reader.id)
        .where(
            LoginSession.token_hash == token_digest(token),
            LoginSession.channel == channel,
            LoginSession.revoked_at.is_(None),
            LoginSession.expires_at > now,
        )
    ).first()
    if row is None:
        return None
    login, staff, reader = row
    if staff is not None:
        if not staff.active:
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
            session_id=login.id,
        )
    if reader is None or reader.status is ReaderStatus.LEFT:
        return None
    return Principal(
        kind="reader",
        id=reader.id,
        display_name=reader.name,
        branch_code=consortium_service.get_branch(session, reader.home_branch_id).code,
        auth_version=reader.auth_version,
        session_id=login.id,
    )


def _owner(kind: PrincipalKind, account_id: int) -> ColumnElement[bool]:
    column = LoginSession.staff_id if kind == "staff" else LoginSession.reader_id
    return column == account_id


def _live(now: datetime) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return LoginSession.revoked_at.is_(None), LoginSession.expires_at > now


def end_session(session: Session, *, session_id: int, now: datetime) -> None:
    """Log out: revoke this one login (already revoked or gone: nothing to do)."""
    session.execute(
        update(LoginSession)
        .where(LoginSession.id == session_id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def list_sessions(
    session: Session,
    *,
    kind: PrincipalKind,
    account_id: int,
    now: datetime,
    current: int | None = None,
) -> list[LoginSessionRead]:
    """An account's live logins, newest first; ``current`` marks the one in use."""
    rows = session.scalars(
        select(LoginSession)
        .where(_owner(kind, account_id), *_live(now))
        .order_by(LoginSession.created_at.desc(), LoginSession.id.desc())
    )
    return [
        LoginSessionRead(
            id=r.id,
            channel="api" if r.channel == "api" else "page",
            created_at=r.created_at,
            last_seen_at=r.last_seen_at,
            expires_at=r.expires_at,
            client_address=r.client_address,
            user_agent=r.user_agent,
            current=r.id == current,
        )
        for r in rows
    ]


def revoke_own_session(
    session: Session, *, principal: Principal, session_id: int, now: datetime
) -> None:
    """End one of one's own logins (a phone left logged in somewhere).

    Raises: LoginSessionNotFound when it is not the caller's, or no longer live."""
    _revoke_one(
        session, kind=principal.kind, account_id=principal.id, session_id=session_id, now=now
    )


def _revoke_one(
    session: Session, *, kind: PrincipalKind, account_id: int, session_id: int, now: datetime
) -> None:
    result = session.execute(
        update(LoginSession)
        .where(LoginSession.id == session_id, _owner(kind, account_id), *_live(now))
        .values(revoked_at=now)
    )
    if not getattr(result, "rowcount", 0):
        raise LoginSessionNotFound(session_id)


def log_out_everywhere(session: Session, *, principal: Principal, now: datetime) -> int:
    """Revoke all of one's own logins and API tokens, this one included; reader QR codes
    already shown stop working too. Returns how many logins ended."""
    account: Reader | StaffAccount | None = (
        session.get(StaffAccount, principal.id)
        if principal.kind == "staff"
        else session.get(Reader, principal.id)
    )
    if account is not None:
        account.auth_version += 1
    count = revoke_account_sessions(session, kind=principal.kind, account_id=principal.id, now=now)
    events.record(
        session,
        type="accounts.logged_out_everywhere",
        now=now,
        actor=principal.actor,
        subject=principal.actor,
        payload={"sessions": count},
    )
    return count


def staff_sessions(
    session: Session, *, staff_id: int, now: datetime, current: int | None = None
) -> list[LoginSessionRead]:
    """A staff member's live logins, for those who manage staff accounts."""
    return list_sessions(session, kind="staff", account_id=staff_id, now=now, current=current)


def revoke_staff_session(
    session: Session, *, staff_id: int, session_id: int, actor: str, now: datetime
) -> None:
    """End one login of a staff member (a manager's action, recorded as an event).

    Raises: LoginSessionNotFound."""
    _revoke_one(session, kind="staff", account_id=staff_id, session_id=session_id, now=now)
    events.record(
        session,
        type="accounts.sessions_revoked",
        now=now,
        actor=actor,
        subject=f"staff:{staff_id}",
        payload={"sessions": 1},
    )


def revoke_all_staff_sessions(session: Session, *, staff_id: int, actor: str, now: datetime) -> int:
    """End every login of a staff member (a manager's action, recorded as an event)."""
    count = revoke_account_sessions(session, kind="staff", account_id=staff_id, now=now)
    events.record(
        session,
        type="accounts.sessions_revoked",
        now=now,
        actor=actor,
        subject=f"staff:{staff_id}",
        payload={"sessions": count},
    )
    return count


def record_last_seen(session: Session, seen: Mapping[int, datetime]) -> None:
    """Move each session's ``last_seen_at`` forward to when it was last used (gathered in
    memory by the serving process, written in one batch by the sessions worker)."""
    for session_id, at in sorted(seen.items()):
        session.execute(
            update(LoginSession)
            .where(LoginSession.id == session_id, LoginSession.last_seen_at < at)
            .values(last_seen_at=at)
        )


def purge_expired(session: Session, *, now: datetime, failure_window: timedelta) -> tuple[int, int]:
    """Delete logins past their expiry (revoked or not) and failed logins older than the
    throttle's window: (sessions, failures) deleted."""
    gone = session.execute(delete(LoginSession).where(LoginSession.expires_at <= now))
    old = session.execute(delete(LoginFailure).where(LoginFailure.failed_at < now - failure_window))
    return int(getattr(gone, "rowcount", 0) or 0), int(getattr(old, "rowcount", 0) or 0)
