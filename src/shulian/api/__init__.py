"""The FastAPI application: mounts every service's router and the pages.

``create_app(settings)`` builds everything from the settings it is given; nothing is built at
import time. Errors: a ``ShulianError``, a validation error, an HTTP error and any unexpected
exception become ``{"error": <name>, "detail": <English>, "message": <caller's language>}`` with
their status under ``/api`` (documented for every operation as ``ErrorRead``), and a page in the
reader's language elsewhere.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Literal

import anyio
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from shulian import __version__, registry
from shulian.accounts import service as accounts_service
from shulian.accounts.api import router as accounts_router
from shulian.accounts.worker import SeenSessions
from shulian.api.errors import ERROR_RESPONSES, document_errors, install_error_handlers
from shulian.catalog.api import router as catalog_router
from shulian.circulation.api import router as circulation_router
from shulian.consortium.api import router as consortium_router
from shulian.core import i18n
from shulian.core.clock import utcnow
from shulian.core.config import Settings
from shulian.core.db import make_engine, make_sessionmaker
from shulian.core.deps import SessionDep
from shulian.core.security import Principal
from shulian.core.worker import WorkerStatus
from shulian.ledger.api import router as ledger_router
from shulian.ledger.cosign import load_or_create_cosigner
from shulian.ledger.note import load_or_create_signer
from shulian.notify.api import router as notify_router
from shulian.search.api import RateLimiter, router as search_router
from shulian.search.service import SearchService
from shulian.web import ROUTERS as PAGE_ROUTERS
from shulian.web.protections import RequestProtections
from shulian.web.session import SESSION_COOKIE, csrf_token


class HealthRead(BaseModel):
    status: Literal["ok", "degraded"]
    database: str
    version: str
    workers: dict[str, WorkerStatus]


WEB = Path(__file__).parents[1] / "web"
DB_SLOTS = 15
#: Every service's JSON API, mounted before the pages. Routes are matched in the order they were
#: added, one pattern after another: search, the busiest by far, goes first (behind 200 other
#: routes its matching cost a sixth of a search's time). Prefixes do not overlap, so the order
#: changes nothing else. A new domain adds its router here.
API_ROUTERS: tuple[APIRouter, ...] = (
    search_router,
    accounts_router,
    consortium_router,
    ledger_router,
    catalog_router,
    circulation_router,
    notify_router,
)


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> FastAPI:
    """Build the application. ``engine`` and ``clock`` may be handed in (tests, workers)."""
    engine = engine or make_engine(
        settings.effective_database_url,
        echo=settings.sql_echo,
        statement_timeout=settings.db_statement_timeout,
        idle_in_transaction_timeout=settings.db_idle_in_transaction_timeout,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Requests inside the database at once: no more than the engine's pool (5 + 10
        # overflow), and well under the thread pool's 40, so commits always find a thread.
        app.state.db_slots = anyio.CapacityLimiter(DB_SLOTS)
        # Built afresh each time the app serves (a worker's thread starts once).
        app.state.workers = registry.workers(
            registry.Resources(
                settings=settings,
                factory=app.state.sessionmaker,
                read_factory=app.state.read_sessionmaker,
                clock=clock,
                state=app.state,
            )
        )
        for worker in app.state.workers:
            # Slow set-up (the search analysers) before the first request, not inside one.
            await anyio.to_thread.run_sync(worker.prepare)
            worker.start()
        yield
        for worker in reversed(app.state.workers):
            worker.stop()
        app.state.workers = []

    app = FastAPI(
        title="Shulian 书链",
        version=__version__,
        responses=ERROR_RESPONSES,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.read_sessionmaker = make_sessionmaker(engine, readonly=True)
    app.state.clock = clock
    app.state.search = SearchService(settings.data_dir / "search")
    app.state.search_limiter = RateLimiter()
    app.state.secret = settings.secret()
    app.state.ledger_signer = load_or_create_signer(
        settings.data_dir / "ledger", settings.ledger_origin
    )
    app.state.ledger_cosigner = load_or_create_cosigner(
        settings.data_dir / "ledger", settings.effective_witness_name
    )
    app.state.notice_kinds = registry.notice_kinds()
    app.state.workers = []  # while serving: the background workers (see lifespan)
    app.state.seen_sessions = SeenSessions()  # written by the sessions worker
    app.state.principal_resolver = _principal_resolver(
        app.state.secret, app.state.seen_sessions, clock
    )
    i18n.load_catalogs(WEB / "i18n")

    _install_middleware(app, settings)
    install_error_handlers(app)
    document_errors(app)

    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")
    for router in (*API_ROUTERS, *PAGE_ROUTERS):
        app.include_router(router)

    @app.get("/healthz", tags=["system"], response_model=HealthRead)
    def healthz(session: SessionDep) -> HealthRead:
        """Liveness and database reachability, for load balancers and monitors, and each
        background worker's state: events behind the spine (``lag``), last success, the kind of
        its last error. Answers 200 while the database answers; ``status`` is ``degraded`` when
        a worker has stopped or its last steps failed."""
        session.execute(text("SELECT 1"))
        found = {w.name: w.status(session) for w in app.state.workers}
        return HealthRead(
            status="ok" if all(w.healthy for w in found.values()) else "degraded",
            database=engine.dialect.name,
            version=__version__,
            workers=found,
        )

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        # Served from our own static files (many libraries run on intranets without a CDN),
        # started by a script file of ours rather than inline: the pages' CSP allows no inline
        # script.
        return HTMLResponse(SWAGGER_PAGE)

    return app


SWAGGER_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Shulian API</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="/api/v1/openapi.json"></div>
<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/swagger-init.js"></script>
</body>
</html>
"""


def _principal_resolver(
    secret: str, seen: SeenSessions, clock: Callable[[], datetime]
) -> Callable[[Request, Session], Principal | None]:
    """Who is calling: a bearer token (API) or the page login's cookie, each looked up with its
    account in one read. A cookie login also gets the form token our pages send back."""

    def resolve(request: Request, session: Session) -> Principal | None:
        now = clock()
        header = request.headers.get("authorization", "")
        if header[:7].lower() == "bearer ":
            principal = accounts_service.principal_for_token(
                session, token=header[7:].strip(), channel="api", now=now
            )
        else:
            cookie = request.cookies.get(SESSION_COOKIE, "")
            if not cookie:
                return None
            principal = accounts_service.principal_for_token(
                session, token=cookie, channel="page", now=now
            )
            if principal is not None:
                request.state.csrf_token = csrf_token(secret, cookie)
        if principal is not None and principal.session_id is not None:
            seen.note(principal.session_id, now)
        return principal

    return resolve


def _install_middleware(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(
        RequestProtections,
        default_language=settings.default_language,
        secure_cookies=settings.secure_cookies,
    )
    # Outermost: the client's real address and scheme behind a proxy we trust, before anything
    # reads them (the login throttle, our origin, Secure cookies).
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)


def asgi() -> FastAPI:
    """Factory for ``uvicorn --factory``: reads the settings when the worker starts."""
    from shulian.core.config import load_settings

    return create_app(load_settings())
