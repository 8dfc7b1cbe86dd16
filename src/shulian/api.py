"""The FastAPI application: mounts every service's router and the pages.

``create_app(settings)`` builds everything from the settings it is given; nothing is built at
import time. Errors: a ``ShulianError``, a validation error, an HTTP error and any unexpected
exception become ``{"error": <name>, "detail": <English>, "message": <caller's language>}`` with
their status under ``/api`` (documented for every operation as ``ErrorRead``), and a page in the
reader's language elsewhere.
"""

from __future__ import annotations

import logging
import secrets
import traceback
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import anyio
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from shulian import __version__, registry
from shulian.accounts import service as accounts_service
from shulian.accounts.api import router as accounts_router
from shulian.accounts.worker import SeenSessions
from shulian.catalog.api import router as catalog_router
from shulian.circulation.api import router as circulation_router
from shulian.consortium.api import router as consortium_router
from shulian.core import i18n
from shulian.core.clock import utcnow
from shulian.core.config import Settings
from shulian.core.db import make_engine, make_sessionmaker
from shulian.core.deps import NotAuthenticated, SessionDep
from shulian.core.errors import ShulianError
from shulian.core.i18n import N_
from shulian.core.security import Principal
from shulian.core.worker import WorkerStatus
from shulian.ledger.api import router as ledger_router
from shulian.ledger.cosign import load_or_create_cosigner
from shulian.ledger.note import load_or_create_signer
from shulian.notify.api import router as notify_router
from shulian.search.api import RateLimiter, router as search_router
from shulian.search.service import SearchService
from shulian.web import ROUTERS as PAGE_ROUTERS
from shulian.web.forms import problems_text
from shulian.web.protections import RequestProtections
from shulian.web.session import SESSION_COOKIE, csrf_token
from shulian.web.shell import error_page


class HealthRead(BaseModel):
    status: Literal["ok", "degraded"]
    database: str
    version: str
    workers: dict[str, WorkerStatus]


WEB = Path(__file__).parent / "web"
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
    _install_error_handlers(app)
    _document_errors(app)

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


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/healthz"


class ErrorRead(BaseModel):
    """What the API answers when it refuses a request or fails: the same three fields for every
    status, a validation error (422) included."""

    error: str = Field(
        description="The error's name, stable for programs: RecordNotFound, ValidationError "
        "(422), PermissionDenied, NotAuthenticated (401), InternalError (500)..."
    )
    detail: str = Field(
        description="What is wrong, in English; for a validation error, each problem as "
        '"field: problem", separated by "; "'
    )
    message: str = Field(description="The same for people, in the caller's language")


#: Documented once for every operation (``FastAPI(responses=...)``), as JSON whatever the
#: operation's own media type (a checkpoint note, a file), with ``ErrorRead`` added to the
#: components by ``_document_errors``. 405 belongs to no operation; it comes with ``Allow``.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorRead"}}},
    }
    for status, description in (
        (400, "The request cannot be carried out as it is (a library rule refuses it)"),
        (401, "Not logged in, or the token has expired (with WWW-Authenticate: Bearer)"),
        (403, "Logged in, but without the permission this needs (named in the message)"),
        (404, "What the request names does not exist"),
        (409, "It conflicts with the current state (taken, changed meanwhile, on loan...)"),
        (422, "A parameter or field is missing, malformed or out of range (named in detail)"),
        (429, "Too many requests or failed logins from this client for now"),
        (500, "An unexpected failure; logged on the server with the reference in detail"),
    )
}
UNEXPECTED = N_(
    "Something went wrong on our side and has been logged (reference {reference}). "
    "Please try again later."
)
error_log = logging.getLogger("shulian.errors")


def _error(name: str, detail: str, message: str, status: int, **kw: Any) -> JSONResponse:
    # detail: English, stable for programs; message: for people, in their language.
    body = {"error": name, "detail": detail, "message": message}
    return JSONResponse(body, status_code=status, **kw)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ShulianError)
    async def domain_error(request: Request, exc: ShulianError) -> Response:
        if _wants_json(request):
            headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
            return _error(exc.code, exc.detail, exc.localized(), exc.status_code, headers=headers)
        if isinstance(exc, NotAuthenticated):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        return error_page(request, status=exc.status_code, message=exc.localized())

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        message = problems_text(exc.errors())
        if _wants_json(request):
            detail = problems_text(exc.errors(), localized=False)
            return _error("ValidationError", detail, message, 422)
        return error_page(request, status=422, message=message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        name = "NotFound" if exc.status_code == 404 else "HTTPError"
        detail = "Page not found" if exc.status_code == 404 else str(exc.detail)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names the methods of the first route that matched only, and GET and
            # POST on one path are two routes here.
            headers["Allow"] = _allowed_methods(request.app, request.url.path) or headers["Allow"]
        if _wants_json(request):
            return _error(name, detail, i18n.gettext(detail), exc.status_code, headers=headers)
        page = error_page(request, status=exc.status_code, message=i18n.gettext(detail))
        page.headers.update(headers)
        return page

    # Innermost of the middleware (appended after the others): inside the session and the
    # language, right around the routes and the handlers above.
    app.user_middleware.append(Middleware(UnexpectedErrors))


def _allowed_methods(app: FastAPI, path: str) -> str:
    def routes(found: list[Any]) -> Iterator[APIRoute]:
        for route in found:
            if isinstance(route, APIRoute):
                yield route
            elif hasattr(route, "original_router"):  # FastAPI's wrapper of an included router
                yield from routes(route.original_router.routes)

    # Every method of the path pattern that routing takes first (/branches/tree before
    # /branches/{code}): those answer on this path, and the document lists them under it.
    found = list(routes(app.routes))
    first = next((r.path for r in found if r.path_regex.match(path)), None)
    return ", ".join(sorted({m for r in found if r.path == first for m in r.methods or ()}))


def _document_errors(app: FastAPI) -> None:
    """Adds ``ErrorRead`` to the document's components, which ``ERROR_RESPONSES`` refer to."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = build()
            schemas = doc.setdefault("components", {}).setdefault("schemas", {})
            schemas["ErrorRead"] = ErrorRead.model_json_schema()
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


class UnexpectedErrors:
    """The last resort: an exception no handler takes (a database error, a bug) becomes a clean
    500 (JSON under ``/api``, the error page in the reader's language elsewhere), logged with
    its traceback and a reference the answer repeats.

    Starlette's own handler for ``Exception`` answers and then re-raises, and the server closes
    the connection after such an answer; this one answers and returns, so the connection stays
    open for the client's next request. The log holds the frames and each exception's type,
    never its text: a database error quotes the row it failed on (a name, a card number)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            if started:  # too late for another answer: the server ends the connection
                raise
            reference = secrets.token_hex(4)
            route = getattr(scope.get("route"), "path", None) or scope["path"]
            error_log.error(
                "Unexpected %s in %s %s (reference %s)\n%s",
                type(exc).__name__,
                scope["method"],
                route,
                reference,
                _redacted_traceback(exc),
            )
            response = _unexpected_response(Request(scope, receive), reference)
            await response(scope, receive, send)


def _unexpected_response(request: Request, reference: str) -> Response:
    message = i18n.gettext(UNEXPECTED).format(reference=reference)
    if _wants_json(request):
        return _error("InternalError", UNEXPECTED.format(reference=reference), message, 500)
    try:
        return error_page(request, status=500, message=message)
    except Exception:  # the page itself failed: plain words rather than nothing
        return PlainTextResponse(message, status_code=500)


def _redacted_traceback(exc: BaseException) -> str:
    """Where ``exc`` and the exceptions that caused it were raised, with their types (and the
    SQL of a failed statement, whose values are bound apart from it), but not their messages."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    lines: list[str] = []
    for e in reversed(chain):
        lines.append("Traceback (most recent call last):\n")
        lines.extend(traceback.format_tb(e.__traceback__))
        statement = getattr(e, "statement", None)
        sql = f" [SQL: {' '.join(str(statement).split())[:1000]}]" if statement else ""
        lines.append(f"{type(e).__module__}.{type(e).__qualname__}{sql}\n")
    return "".join(lines).rstrip("\n")


def asgi() -> FastAPI:
    """Factory for ``uvicorn --factory``: reads the settings when the worker starts."""
    from shulian.core.config import load_settings

    return create_app(load_settings())
