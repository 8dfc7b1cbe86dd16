"""Ending all of an account's logins at once: shared by the password change, "log out
everywhere", disabling a staff account and closing a reader's (a module of its own so that the
readers', staff and sessions modules can all use it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from shulian.accounts.models import LoginSession
from shulian.core.security import PrincipalKind


def revoke_account_sessions(
    session: Session, *, kind: PrincipalKind, account_id: int, now: datetime
) -> int:
    """Revoke every live login (pages and API tokens) of one account; how many there were.
    Writes no event: the operation that calls it records its own."""
    owner = LoginSession.staff_id if kind == "staff" else LoginSession.reader_id
    result = session.execute(
        update(LoginSession)
        .where(
            owner == account_id,
            LoginSession.revoked_at.is_(None),
            LoginSession.expires_at > now,
        )
        .values(revoked_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)
