"""Readers: registration, updates, lookups, the ledger audit's digests and the reader's QR code."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from shulian.accounts.errors import (
    CardNumberTaken,
    InvalidReaderQR,
    ReaderNotFound,
    UnknownReaderCategory,
)
from shulian.accounts.models import Reader, ReaderCategory
from shulian.accounts.schemas import ReaderCreate, ReaderPage, ReaderRead, ReaderUpdate
from shulian.accounts.service.revocation import revoke_account_sessions
from shulian.accounts.types import ReaderStatus
from shulian.consortium import service as consortium_service
from shulian.core import events
from shulian.core.db import transaction_cache
from shulian.core.security import Signer, hash_password

QR_PREFIX = "SLR1."


def reader_state(reader: Reader) -> str:
    """The digest of what a reader row says (card, name, contacts, category, branch, status,
    expiry) as the reader's events carry it, for the ledger audit. It covers personal data, so the
    ledger keys it under the library secret before it enters a leaf (``ledger.leaf``); the
    password hash and login counters are not covered: they change without events."""
    return events.state_digest(
        {
            "card": reader.card_number,
            "name": reader.name,
            "category": reader.category_code,
            "phone": reader.phone,
            "email": reader.email,
            "branch": reader.home_branch_id,
            "status": reader.status.value,
            "expires": reader.expires_on.isoformat(),
        }
    )


def audit_reader_states(session: Session) -> Iterator[tuple[int, str]]:
    """(id, state digest) of every reader row, for the ledger audit's replay."""
    for reader in session.scalars(
        select(Reader).order_by(Reader.id).execution_options(yield_per=2000)
    ):
        yield reader.id, reader_state(reader)


def register_reader(session: Session, *, data: ReaderCreate, actor: str, now: datetime) -> Reader:
    """Register a reader at a home branch.

    Raises: CardNumberTaken, UnknownReaderCategory, BranchNotFound.
    """
    if session.scalars(select(Reader.id).where(Reader.card_number == data.card_number)).first():
        raise CardNumberTaken(data.card_number)
    _check_category(session, data.category)
    branch = consortium_service.get_branch_by_code(session, data.home_branch)
    reader = Reader(
        card_number=data.card_number,
        name=data.name,
        category_code=data.category,
        phone=data.phone,
        email=str(data.email),
        home_branch_id=branch.id,
        status=ReaderStatus.ACTIVE,
        expires_on=data.expires_on,
        password_hash=hash_password(data.password) if data.password else None,
        auth_version=1,
        points=0,
        created_at=now,
    )
    session.add(reader)
    session.flush()
    events.record(
        session,
        type="accounts.reader_registered",
        now=now,
        actor=actor,
        branch=branch.code,
        subject=f"reader:{reader.id}",
        payload={
            "category": reader.category_code,
            "expires_on": reader.expires_on.isoformat(),
            "states": {f"reader:{reader.id}": reader_state(reader)},
        },
    )
    return reader


def update_reader(
    session: Session, *, reader_id: int, data: ReaderUpdate, actor: str, now: datetime
) -> Reader:
    """Change a reader's details or status; closing the account (``left``) ends every login and
    API token it holds at once. Raises: ReaderNotFound, UnknownReaderCategory, BranchNotFound."""
    reader = get_reader(session, reader_id)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    branch_code = None
    if "category" in changes:
        _check_category(session, changes["category"])
        reader.category_code = changes.pop("category")
    if "home_branch" in changes:
        branch = consortium_service.get_branch_by_code(session, changes.pop("home_branch"))
        reader.home_branch_id = branch.id
        branch_code = branch.code
    if "email" in changes:
        changes["email"] = str(changes["email"])
    for key, value in changes.items():
        setattr(reader, key, value)
    if changes.get("status") is ReaderStatus.LEFT:
        revoke_account_sessions(session, kind="reader", account_id=reader.id, now=now)
    session.flush()
    # Only which fields changed, and the non-personal new values, go into the spine.
    public = {
        k: str(v)
        for k, v in data.model_dump(exclude_unset=True).items()
        if k in {"category", "home_branch", "expires_on", "status"} and v is not None
    }
    events.record(
        session,
        type="accounts.reader_updated",
        now=now,
        actor=actor,
        branch=branch_code,
        subject=f"reader:{reader.id}",
        payload={
            "fields": sorted(data.model_dump(exclude_unset=True)),
            "values": public,
            "states": {f"reader:{reader.id}": reader_state(reader)},
        },
    )
    return reader


def _held(session: Session, reader: Reader) -> Reader:
    # A unit of work asks for one reader several times (a desk finds the card, then lends):
    # held for the rest of the transaction, the session's identity map answers the later ones
    # (it holds objects only weakly).
    transaction_cache(session).setdefault("readers", {})[reader.id] = reader
    return reader


def get_reader(session: Session, reader_id: int) -> Reader:
    reader = session.get(Reader, reader_id)
    if reader is None:
        raise ReaderNotFound(f"#{reader_id}")
    return _held(session, reader)


def find_reader_by_card(session: Session, card_number: str) -> Reader:
    reader = session.scalars(
        select(Reader).where(Reader.card_number == card_number.strip().upper())
    ).first()
    if reader is None:
        raise ReaderNotFound(card_number)
    return _held(session, reader)


def reader_read(session: Session, reader: Reader) -> ReaderRead:
    branch = consortium_service.get_branch(session, reader.home_branch_id)
    return ReaderRead(
        id=reader.id,
        card_number=reader.card_number,
        name=reader.name,
        category=reader.category_code,
        phone=reader.phone,
        email=reader.email,
        home_branch=branch.code,
        status=reader.status,
        expires_on=reader.expires_on,
        points=reader.points,
    )


def list_readers(session: Session, *, query: str = "", page: int = 1, size: int = 20) -> ReaderPage:
    """Readers whose card number starts with, or name contains, ``query``; newest first."""
    page, size = max(page, 1), min(max(size, 1), 100)
    stmt = select(Reader)
    if query.strip():
        q = query.strip()
        stmt = stmt.where(
            or_(
                Reader.card_number.startswith(q.upper(), autoescape=True),
                Reader.name.contains(q, autoescape=True),
            )
        )
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Reader.id.desc()).offset((page - 1) * size).limit(size))
    return ReaderPage(
        items=[reader_read(session, r) for r in rows], total=total, page=page, size=size
    )


def list_categories(session: Session) -> list[ReaderCategory]:
    return list(session.scalars(select(ReaderCategory).order_by(ReaderCategory.code)))


def _check_category(session: Session, code: str) -> None:
    if session.get(ReaderCategory, code) is None:
        raise UnknownReaderCategory(code)


def issue_reader_qr(reader: Reader, *, signer: Signer) -> str:
    """A signed code for the reader's phone; it names the reader by id, not by card or name."""
    return QR_PREFIX + signer.dumps({"r": reader.id, "v": reader.auth_version})


def resolve_reader_qr(session: Session, *, code: str, signer: Signer, max_age: int) -> Reader:
    """The reader behind a scanned QR code. Raises: InvalidReaderQR (forged, expired, revoked)."""
    code = code.strip()
    if not code.startswith(QR_PREFIX):
        raise InvalidReaderQR()
    data = signer.loads(code[len(QR_PREFIX) :], max_age=max_age)
    if data is None or not isinstance(data.get("r"), int):
        raise InvalidReaderQR()
    reader = session.get(Reader, data["r"])
    if reader is None or reader.auth_version != data.get("v"):
        raise InvalidReaderQR()
    return reader
