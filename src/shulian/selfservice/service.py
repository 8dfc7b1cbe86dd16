"""Operations on self-service devices. Callers own the transaction; nothing here commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shulian.consortium import service as consortium_service
from shulian.core import events
from shulian.core.security import hash_password, needs_rehash, verify_password
from shulian.selfservice.errors import (
    InvalidKioskCredentials,
    KioskLoginTaken,
    UnsupportedKioskEncoding,
)
from shulian.selfservice.models import Kiosk
from shulian.selfservice.schemas import KIOSK_ENCODINGS, KioskCreate


def create_kiosk(session: Session, *, data: KioskCreate, actor: str, now: datetime) -> Kiosk:
    """Register a kiosk's SIP2 account for a branch; its password is kept as an Argon2 hash.

    The institution id (AO) defaults to the branch code. The event carries the login, branch and
    encoding only: never the password or its hash.
    Raises: KioskLoginTaken, BranchNotFound, UnsupportedKioskEncoding.
    """
    encoding = KIOSK_ENCODINGS.get(data.encoding)
    if encoding is None:
        raise UnsupportedKioskEncoding(data.encoding)
    if session.scalars(select(Kiosk.id).where(Kiosk.login == data.login)).first() is not None:
        raise KioskLoginTaken(data.login)
    branch = consortium_service.get_branch_by_code(session, data.branch_code)
    kiosk = Kiosk(
        login=data.login,
        password_hash=hash_password(data.password),
        name=data.name,
        branch_code=branch.code,
        institution_id=data.institution_id or branch.code,
        encoding=encoding,
        active=True,
        created_at=now,
    )
    session.add(kiosk)
    session.flush()
    events.record(
        session,
        type="selfservice.kiosk_created",
        now=now,
        actor=actor,
        branch=branch.code,
        subject=f"kiosk:{kiosk.id}",
        payload={"login": kiosk.login, "encoding": kiosk.encoding},
    )
    return kiosk


def authenticate_kiosk(session: Session, *, login: str, password: str) -> Kiosk:
    """Check a kiosk's SIP2 login (93).

    An unknown login, a wrong password and a deactivated kiosk all raise
    ``InvalidKioskCredentials`` after the same Argon2 work, so logins cannot be enumerated.
    """
    kiosk = session.scalars(select(Kiosk).where(Kiosk.login == login.strip())).first()
    ok = verify_password(kiosk.password_hash if kiosk else None, password)
    if kiosk is None or not ok or not kiosk.active:
        raise InvalidKioskCredentials()
    if needs_rehash(kiosk.password_hash):
        kiosk.password_hash = hash_password(password)
    return kiosk


def list_kiosks(session: Session, *, branch_code: str | None = None) -> list[Kiosk]:
    stmt = select(Kiosk).order_by(Kiosk.login)
    if branch_code:
        stmt = stmt.where(Kiosk.branch_code == branch_code.strip().upper())
    return list(session.scalars(stmt))
