"""How the application answers what goes wrong: a domain error, a validation error or an HTTP
error becomes ``{"error", "detail", "message"}`` with its status under ``/api`` (documented
once for every operation) and a page in the reader's language elsewhere; anything else is the
last resort's clean 500 with a logged reference."""

from __future__ import annotations

import logging
import secrets
import traceback
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, StatementError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shulian.core import i18n
from shulian.core.deps import NotAuthenticated
from shulian.core.errors import BadRequest, ShulianError
from shulian.core.i18n import N_
from shulian.web.forms import problems_text
from shulian.web.shell import error_page


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
#: components by ``document_errors``. 405 belongs to no operation; it comes with ``Allow``.
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


def install_error_handlers(app: FastAPI) -> None:
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


def document_errors(app: FastAPI) -> None:
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
            if _nul_in_text(exc):
                # PostgreSQL's text holds no NUL; SQLite's does. Refused as bad input on both
                # would need every field checked; the database tells us which request it was.
                refused = TextWithNul()
                request = Request(scope, receive)
                if _wants_json(request):
                    response: Response = _error(
                        refused.code, refused.detail, refused.localized(), refused.status_code
                    )
                else:
                    response = error_page(
                        request, status=refused.status_code, message=refused.localized()
                    )
                await response(scope, receive, send)
                return
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


class TextWithNul(BadRequest):
    status_code = 422

    def __init__(self) -> None:
        super().__init__("Text may not contain the NUL character (U+0000)")


def _nul_in_text(exc: BaseException) -> bool:
    """Whether the database driver refused a value for holding a NUL character."""
    current: BaseException | None = exc
    while current is not None:
        if "NUL (0x00)" in str(current) and isinstance(
            current, (DBAPIError, StatementError, ValueError)
        ):
            return True
        current = getattr(current, "orig", None) or current.__cause__
    return False


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
