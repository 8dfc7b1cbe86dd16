"""Typed request dependencies: ``SessionDep``, ``NowDep``, ``SettingsDep``, ``CurrentPrincipal``,
``CurrentReader``, ``StaffUser`` and ``require(permission)``.

The kernel does not know how a principal is found (that is the accounts service's business); the
app registers a resolver on ``app.state.principal_resolver`` and these dependencies call it.
Every route declares who may call it: a ``require(...)`` permission, ``CurrentReader`` (a reader,
for their own data only), ``StaffUser`` (any staff member) or nothing (public).

A change (any method but GET, HEAD, OPTIONS) made with a page login's cookie must come from our
own pages: the middleware refuses a request whose ``Origin`` is another site's and marks one
whose ``Origin`` is ours (``request.state.same_origin``); when the browser sent no ``Origin`` at
all, the request must carry the login's form token (``X-CSRF-Token`` header or ``csrf_token``
form field), which the resolver puts in ``request.state.csrf_token`` for a cookie login. Bearer
tokens are not sent by browsers on their own, so API calls with one need neither.
"""

from __future__ import annotations

import contextlib
import hmac
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Annotated, Any

import anyio
from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from shulian.core.config import Settings
from shulian.core.errors import Forbidden, Unauthorized
from shulian.core.security import Principal, Signer

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


class NotAuthenticated(Unauthorized):
    def __init__(self) -> None:
        super().__init__("Please log in first")


class PermissionDenied(Forbidden):
    def __init__(self, permission: str) -> None:
        super().__init__("Missing permission: {permission}", permission=permission)


class ReadersOnly(Forbidden):
    def __init__(self) -> None:
        super().__init__("Only a reader can do this, for their own account")


class CrossOriginRequest(Forbidden):
    """A change that did not come from this library's own pages (a form on another site)."""

    def __init__(self) -> None:
        super().__init__(
            "This request did not come from this library's own pages and was refused; "
            "reload the page and try again"
        )


class StaffOnly(Forbidden):
    def __init__(self) -> None:
        super().__init__("Only library staff can do this")


# Dependencies that only read app state are async: FastAPI runs a plain ``def`` dependency in
# the thread pool, a hop that costs more than the dependency itself.
async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One transaction per request: committed when the endpoint returns, rolled back on error.

    Safe methods get a session that does not take SQLite's write lock up front. Requests queue
    for a database slot here, in the event loop, not in the thread pool: a request waiting for a
    connection or for the writer must not hold a thread that another request needs to commit
    (with every thread waiting, nothing would commit until a timeout).
    """
    state = request.app.state
    factory = state.read_sessionmaker if request.method in SAFE_METHODS else state.sessionmaker
    slots: anyio.CapacityLimiter | None = getattr(state, "db_slots", None)
    async with slots if slots is not None else contextlib.nullcontext():
        session = factory()
        try:
            yield session
            await run_in_threadpool(session.commit)
        except BaseException:
            await run_in_threadpool(session.rollback)
            raise
        finally:
            await run_in_threadpool(session.close)


async def get_now(request: Request) -> datetime:
    clock: Callable[[], datetime] = request.app.state.clock
    return clock()


def signer(purpose: str) -> Callable[[Request], Signer]:
    """A dependency giving the ``Signer`` for one purpose (``reader-qr``)."""

    def _signer(request: Request) -> Signer:
        return Signer(request.app.state.secret, purpose)

    return _signer


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
NowDep = Annotated[datetime, Depends(get_now)]


async def get_optional_principal(request: Request, session: SessionDep) -> Principal | None:
    if not hasattr(request.state, "principal"):
        resolver: Callable[[Request, Session], Principal | None] = (
            request.app.state.principal_resolver
        )
        principal = await run_in_threadpool(resolver, request, session)
        if principal is not None and request.method not in SAFE_METHODS:
            await _check_from_our_pages(request)
        request.state.principal = principal
    found: Principal | None = request.state.principal
    return found


async def _check_from_our_pages(request: Request) -> None:
    """Raises CrossOriginRequest for a cookie login's change that neither came with our own
    ``Origin`` nor brought the login's form token."""
    expected: str | None = getattr(request.state, "csrf_token", None)
    if expected is None or getattr(request.state, "same_origin", False):
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        # Already parsed (and kept) when the endpoint takes form fields; parsed here otherwise.
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if sent is None or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CrossOriginRequest()


OptionalPrincipal = Annotated[Principal | None, Depends(get_optional_principal)]


def get_principal(principal: OptionalPrincipal) -> Principal:
    if principal is None:
        raise NotAuthenticated()
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def get_reader_principal(principal: CurrentPrincipal) -> Principal:
    if principal.kind != "reader":
        raise ReadersOnly()
    return principal


def get_staff_principal(principal: CurrentPrincipal) -> Principal:
    if principal.kind != "staff":
        raise StaffOnly()
    return principal


CurrentReader = Annotated[Principal, Depends(get_reader_principal)]
StaffUser = Annotated[Principal, Depends(get_staff_principal)]


def require(permission: str) -> Any:
    """A dependency admitting staff who hold ``permission``; it answers 403 naming what is
    missing. The permission is kept on the dependency so tests can list every route's guard."""

    def _check(principal: StaffUser) -> Principal:
        if not principal.can(permission):
            raise PermissionDenied(permission)
        return principal

    _check.__name__ = f"require_{permission.replace('.', '_')}"
    _check.shulian_permission = permission  # type: ignore[attr-defined]
    return Depends(_check)
