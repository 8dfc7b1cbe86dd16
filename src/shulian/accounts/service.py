"""Operations on readers, staff and logins. Callers own the transaction; nothing here commits.

Events carry ids and codes only; a reader's name, phone and e-mail never enter the spine.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from shulian.accounts.errors import (
    CardNumberTaken,
    InvalidCredentials,
    InvalidReaderQR,
    ReaderNotFound,
    StaffNotFound,
    TooManyLoginAttempts,
    UnknownReaderCategory,
    UnknownRole,
    UsernameTaken,
)
from shulian.accounts.models import (
    LoginFailure,
    Reader,
    ReaderCategory,
    ReaderStatus,
    Role,
    RolePermission,
    StaffAccount,
    StaffRole,
)
from shulian.accounts.schemas import (
    ReaderCreate,
    ReaderPage,
    ReaderRead,
    ReaderUpdate,
    StaffCreate,
    StaffRead,
)
from shulian.consortium import service as consortium_service
from shulian.core import events
from shulian.core.security import (
    Principal,
    Signer,
    hash_password,
    keyed_digest,
    needs_rehash,
    verify_password,
)

QR_PREFIX = "SLR1."


# --- readers -----------------------------------------------------------------------------


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
    """Change a reader's details or status. Raises: ReaderNotFound, UnknownReaderCategory,
    BranchNotFound."""
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


def get_reader(session: Session, reader_id: int) -> Reader:
    reader = session.get(Reader, reader_id)
    if reader is None:
        raise ReaderNotFound(f"#{reader_id}")
    return reader


def find_reader_by_card(session: Session, card_number: str) -> Reader:
    reader = session.scalars(
        select(Reader).where(Reader.card_number == card_number.strip().upper())
    ).first()
    if reader is None:
        raise ReaderNotFound(card_number)
    return reader


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


# --- staff -------------------------------------------------------------------------------


def create_staff(session: Session, *, data: StaffCreate, actor: str, now: datetime) -> StaffAccount:
    """Create a staff account with roles. Raises: UsernameTaken, UnknownRole, BranchNotFound."""
    if session.scalars(
        select(StaffAccount.id).where(StaffAccount.username == data.username)
    ).first():
        raise UsernameTaken(data.username)
    for code in data.roles:
        if session.get(Role, code) is None:
            raise UnknownRole(code)
    branch_id = None
    if data.branch:
        branch_id = consortium_service.get_branch_by_code(session, data.branch).id
    staff = StaffAccount(
        username=data.username,
        display_name=data.display_name,
        password_hash=hash_password(data.password),
        branch_id=branch_id,
        active=True,
        auth_version=1,
        created_at=now,
    )
    session.add(staff)
    session.flush()
    session.add_all(
        StaffRole(staff_id=staff.id, role_code=code) for code in sorted(set(data.roles))
    )
    session.flush()
    events.record(
        session,
        type="accounts.staff_created",
        now=now,
        actor=actor,
        subject=f"staff:{staff.id}",
        payload={"username": staff.username, "roles": sorted(set(data.roles))},
    )
    return staff


def get_staff(session: Session, staff_id: int) -> StaffAccount:
    staff = session.get(StaffAccount, staff_id)
    if staff is None:
        raise StaffNotFound(f"#{staff_id}")
    return staff


def staff_roles(session: Session, staff_id: int) -> list[str]:
    return list(
        session.scalars(
            select(StaffRole.role_code)
            .where(StaffRole.staff_id == staff_id)
            .order_by(StaffRole.role_code)
        )
    )


def staff_permissions(session: Session, staff_id: int) -> frozenset[str]:
    rows = session.scalars(
        select(RolePermission.permission)
        .join(StaffRole, StaffRole.role_code == RolePermission.role_code)
        .where(StaffRole.staff_id == staff_id)
    )
    return frozenset(rows)


def staff_read(session: Session, staff: StaffAccount) -> StaffRead:
    branch = (
        consortium_service.get_branch(session, staff.branch_id).code if staff.branch_id else None
    )
    return StaffRead(
        id=staff.id,
        username=staff.username,
        display_name=staff.display_name,
        branch=branch,
        roles=staff_roles(session, staff.id),
        active=staff.active,
    )


def list_staff(session: Session) -> list[StaffRead]:
    return [
        staff_read(session, s)
        for s in session.scalars(select(StaffAccount).order_by(StaffAccount.username))
    ]


def list_roles(session: Session) -> list[tuple[Role, list[str]]]:
    roles = session.scalars(select(Role).order_by(Role.code)).all()
    perms: dict[str, list[str]] = {}
    for rp in session.scalars(select(RolePermission).order_by(RolePermission.permission)):
        perms.setdefault(rp.role_code, []).append(rp.permission)
    return [(r, perms.get(r.code, [])) for r in roles]


# --- logins ------------------------------------------------------------------------------


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


# --- the reader's QR code ----------------------------------------------------------------


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
