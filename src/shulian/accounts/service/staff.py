"""Staff accounts, their roles and permissions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shulian.accounts.errors import (
    CannotDisableOwnAccount,
    StaffNotFound,
    UnknownRole,
    UsernameTaken,
)
from shulian.accounts.models import Role, RolePermission, StaffAccount, StaffRole
from shulian.accounts.schemas import StaffCreate, StaffRead
from shulian.accounts.service.revocation import revoke_account_sessions
from shulian.consortium import service as consortium_service
from shulian.core import events
from shulian.core.security import hash_password


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


def set_staff_active(
    session: Session, *, staff_id: int, active: bool, actor: str, now: datetime
) -> StaffAccount:
    """Disable or enable a staff account. Disabling ends every login and API token it holds at
    once (not at their expiry).

    Raises: StaffNotFound; CannotDisableOwnAccount when ``actor`` is that account.
    """
    staff = get_staff(session, staff_id)
    if not active and actor == f"staff:{staff.id}":
        raise CannotDisableOwnAccount()
    revoked = 0
    if not active:
        revoked = revoke_account_sessions(session, kind="staff", account_id=staff.id, now=now)
    if staff.active == active and not revoked:
        return staff
    staff.active = active
    session.flush()
    events.record(
        session,
        type="accounts.staff_updated",
        now=now,
        actor=actor,
        subject=f"staff:{staff.id}",
        payload={"active": active, "sessions_revoked": revoked},
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
