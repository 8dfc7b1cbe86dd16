"""HTTP API of accounts: tokens and logins, the current account, readers, staff and roles.

Bearer tokens are login sessions kept server-side like the pages' (``login_sessions``): a
token is a random secret looked up on each call, so logging out, "log out everywhere", a
password change or a disabled account ends it at once, and its owner sees it among their logins.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import segno
from fastapi import APIRouter, Depends, Query, Request, status

from shulian.accounts import service
from shulian.accounts.errors import InvalidCredentials, TooManyLoginAttempts
from shulian.accounts.schemas import (
    LoginRequest,
    LoginSessionRead,
    MeRead,
    PasswordChange,
    ReaderCreate,
    ReaderPage,
    ReaderQRRead,
    ReaderQRResolve,
    ReaderRead,
    ReaderUpdate,
    StaffCreate,
    StaffRead,
    StaffUpdate,
    TokenRead,
)
from shulian.core.bounds import Id, Page
from shulian.core.deps import (
    CurrentPrincipal,
    CurrentReader,
    NowDep,
    SessionDep,
    SettingsDep,
    require,
    signer,
)
from shulian.core.security import Principal, PrincipalKind, Signer

router = APIRouter(prefix="/api/v1", tags=["accounts"])

QRSigner = Annotated[Signer, Depends(signer("reader-qr"))]


def client_address(request: Request) -> str:
    """The caller's address: the connection's, or behind a trusted proxy the one it forwarded
    (``SHULIAN_TRUSTED_PROXIES``)."""
    return request.client.host if request.client else "unknown"


def user_agent(request: Request) -> str:
    return request.headers.get("user-agent", "")


@router.post("/auth/token", response_model=TokenRead)
def issue_token(
    body: LoginRequest,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> TokenRead:
    """Log in (staff by username, readers by card number) and get a bearer token. A refusal
    by the login throttle (429) says in ``Retry-After`` how many seconds to wait."""
    kind, account_id = login(session, body, request=request, settings=settings, now=now)
    opened = service.open_session(
        session,
        kind=kind,
        account_id=account_id,
        channel="api",
        now=now,
        lifetime=timedelta(seconds=settings.token_max_age),
        client=client_address(request),
        user_agent=user_agent(request),
    )
    return TokenRead(access_token=opened.token, expires_in=settings.token_max_age)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def log_out(principal: CurrentPrincipal, session: SessionDep, now: NowDep) -> None:
    """End the login this request came with (the bearer token, or the page's cookie)."""
    if principal.session_id is not None:
        service.end_session(session, session_id=principal.session_id, now=now)


@router.post("/auth/logout-everywhere", status_code=status.HTTP_204_NO_CONTENT)
def log_out_everywhere(principal: CurrentPrincipal, session: SessionDep, now: NowDep) -> None:
    """End every login and API token of your account, this one included."""
    service.log_out_everywhere(session, principal=principal, now=now)


@router.get("/me/sessions", response_model=list[LoginSessionRead])
def my_sessions(
    principal: CurrentPrincipal, session: SessionDep, now: NowDep
) -> list[LoginSessionRead]:
    """Your live logins and API tokens: when and where they started, when last used."""
    return service.list_sessions(
        session, kind=principal.kind, account_id=principal.id, now=now, current=principal.session_id
    )


@router.delete("/me/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
def end_my_session(
    session_id: Id, principal: CurrentPrincipal, session: SessionDep, now: NowDep
) -> None:
    """End one of your logins (a phone left logged in somewhere)."""
    service.revoke_own_session(session, principal=principal, session_id=session_id, now=now)


def login(
    session: SessionDep, body: LoginRequest, *, request: Request, settings: SettingsDep, now: NowDep
) -> tuple[PrincipalKind, int]:
    """Shared by the token endpoint and the login page: (kind, account id)."""
    common = {
        "password": body.password,
        "client": client_address(request),
        "secret": request.app.state.secret,
        "now": now,
        "max_failures": settings.login_max_failures,
        "window": timedelta(seconds=settings.login_window_seconds),
    }
    try:
        if body.kind == "staff":
            staff = service.authenticate_staff(session, username=body.account, **common)
            return "staff", staff.id
        reader = service.authenticate_reader(session, card_number=body.account, **common)
        return "reader", reader.id
    except InvalidCredentials:
        # The failed attempt must count although the request fails: keep it, then refuse.
        session.commit()
        raise
    except TooManyLoginAttempts as exc:
        request.state.retry_after = exc.retry_after  # sent as Retry-After by the middleware
        raise


@router.get("/me", response_model=MeRead)
def me(principal: CurrentPrincipal) -> MeRead:
    return MeRead(
        kind=principal.kind,
        id=principal.id,
        display_name=principal.display_name,
        branch=principal.branch_code,
        permissions=sorted(principal.permissions),
    )


@router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT)
def change_my_password(
    body: PasswordChange, principal: CurrentPrincipal, session: SessionDep, now: NowDep
) -> None:
    """Change your own password; every other login and token stops working."""
    service.change_password(
        session, principal=principal, current=body.current_password, new=body.new_password, now=now
    )


@router.get("/me/reader", response_model=ReaderRead)
def my_reader_account(principal: CurrentReader, session: SessionDep) -> ReaderRead:
    return service.reader_read(session, service.get_reader(session, principal.id))


@router.get("/me/qr", response_model=ReaderQRRead)
def my_qr(
    principal: CurrentReader, session: SessionDep, settings: SettingsDep, qr: QRSigner
) -> ReaderQRRead:
    """The signed, expiring code the reader's phone shows to desks and kiosks."""
    return reader_qr(session, principal, settings=settings, qr=qr)


def reader_qr(
    session: SessionDep, principal: Principal, *, settings: SettingsDep, qr: Signer
) -> ReaderQRRead:
    code = service.issue_reader_qr(service.get_reader(session, principal.id), signer=qr)
    svg = segno.make(code, error="m").svg_inline(scale=4, border=2, omitsize=True)
    return ReaderQRRead(code=code, expires_in=settings.qr_max_age, svg=svg)


@router.post(
    "/readers/resolve-qr",
    response_model=ReaderRead,
    dependencies=[require("circulation.desk")],
)
def resolve_qr(
    body: ReaderQRResolve, session: SessionDep, settings: SettingsDep, qr: QRSigner
) -> ReaderRead:
    """Desk or kiosk: who is the reader behind this scanned QR code?"""
    reader = service.resolve_reader_qr(
        session, code=body.code, signer=qr, max_age=settings.qr_max_age
    )
    return service.reader_read(session, reader)


@router.get("/readers", response_model=ReaderPage, dependencies=[require("accounts.reader.read")])
def list_readers(
    session: SessionDep,
    q: str = "",
    page: Page = 1,
    size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ReaderPage:
    return service.list_readers(session, query=q, page=page, size=size)


@router.post("/readers", response_model=ReaderRead, status_code=status.HTTP_201_CREATED)
def register_reader(
    body: ReaderCreate,
    session: SessionDep,
    now: NowDep,
    principal: Annotated[Principal, require("accounts.reader.manage")],
) -> ReaderRead:
    reader = service.register_reader(session, data=body, actor=principal.actor, now=now)
    return service.reader_read(session, reader)


# Digits only in the path (``:int``), so that another method on /readers/resolve-qr is a 405
# rather than taken for a reader id.
@router.get(
    "/readers/{reader_id:int}",
    response_model=ReaderRead,
    dependencies=[require("accounts.reader.read")],
)
def get_reader(reader_id: Id, session: SessionDep) -> ReaderRead:
    return service.reader_read(session, service.get_reader(session, reader_id))


@router.patch("/readers/{reader_id:int}", response_model=ReaderRead)
def update_reader(
    reader_id: Id,
    body: ReaderUpdate,
    session: SessionDep,
    now: NowDep,
    principal: Annotated[Principal, require("accounts.reader.manage")],
) -> ReaderRead:
    reader = service.update_reader(
        session, reader_id=reader_id, data=body, actor=principal.actor, now=now
    )
    return service.reader_read(session, reader)


@router.get(
    "/staff", response_model=list[StaffRead], dependencies=[require("accounts.staff.manage")]
)
def list_staff(session: SessionDep) -> list[StaffRead]:
    return service.list_staff(session)


@router.post("/staff", response_model=StaffRead, status_code=status.HTTP_201_CREATED)
def create_staff(
    body: StaffCreate,
    session: SessionDep,
    now: NowDep,
    principal: Annotated[Principal, require("accounts.staff.manage")],
) -> StaffRead:
    staff = service.create_staff(session, data=body, actor=principal.actor, now=now)
    return service.staff_read(session, staff)


@router.patch("/staff/{staff_id}", response_model=StaffRead)
def update_staff(
    staff_id: Id,
    body: StaffUpdate,
    session: SessionDep,
    now: NowDep,
    principal: Annotated[Principal, require("accounts.staff.manage")],
) -> StaffRead:
    """Disable (``{"active": false}``) or enable a staff account; disabling ends all its logins
    and API tokens at once."""
    staff = service.set_staff_active(
        session, staff_id=staff_id, active=body.active, actor=principal.actor, now=now
    )
    return service.staff_read(session, staff)


@router.get(
    "/staff/{staff_id}/sessions",
    response_model=list[LoginSessionRead],
    dependencies=[require("accounts.staff.manage")],
)
def staff_sessions(staff_id: Id, session: SessionDep, now: NowDep) -> list[LoginSessionRead]:
    """A staff member's live logins and API tokens."""
    service.get_staff(session, staff_id)
    return service.staff_sessions(session, staff_id=staff_id, now=now)


@router.delete("/staff/{staff_id}/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
def end_staff_session(
    staff_id: Id,
    session_id: Id,
    session: SessionDep,
    now: NowDep,
    principal: Annotated[Principal, require("accounts.staff.manage")],
) -> None:
    """End one login of a staff member."""
    service.revoke_staff_session(
        session, staff_id=staff_id, session_id=session_id, actor=principal.actor, now=now
    )


@router.delete("/staff/{staff_id}/sessions", status_code=status.HTTP_204_NO_CONTENT)
def end_all_staff_sessions(
    staff_id: Id,
    session: SessionDep,
    now: NowDep,
    principal: Annotated[Principal, require("accounts.staff.manage")],
) -> None:
    """End every login and API token of a staff member."""
    service.get_staff(session, staff_id)
    service.revoke_all_staff_sessions(session, staff_id=staff_id, actor=principal.actor, now=now)


@router.get("/roles", dependencies=[require("accounts.staff.manage")])
def list_roles(session: SessionDep) -> list[dict[str, object]]:
    return [
        {"code": r.code, "name_zh": r.name_zh, "name_en": r.name_en, "permissions": perms}
        for r, perms in service.list_roles(session)
    ]


@router.get("/reader-categories")
def list_reader_categories(session: SessionDep) -> list[dict[str, str]]:
    return [
        {"code": c.code, "name_zh": c.name_zh, "name_en": c.name_en}
        for c in service.list_categories(session)
    ]
