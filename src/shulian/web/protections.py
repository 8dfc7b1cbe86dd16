"""What every request goes through, for the pages and the API alike: its language, whether a
change comes from our own pages, the protective headers, and an access log line.

- A change (any method but GET, HEAD, OPTIONS) not made with a bearer token must come from our
  exact origin (scheme, host and port) when the browser says where it comes from; another
  origin, ``null`` included, gets a 403 (a page in the reader's language, JSON under ``/api``).
  When the browser says nothing, the request is marked so that a cookie login must bring its
  form token (``core.deps``).
- Every answer: a Content-Security-Policy without inline script, no framing, ``nosniff``,
  ``Referrer-Policy``; ``Cache-Control: no-store`` but on static files; cookies marked
  ``Secure`` when the request came over HTTPS (as the trusted proxy says, see ``api.py``) or the
  settings ask; ``Retry-After`` on a 429 whose handler set ``request.state.retry_after``.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shulian.core import i18n
from shulian.core.deps import SAFE_METHODS, CrossOriginRequest
from shulian.core.i18n import Language
from shulian.web.render import LANG_COOKIE
from shulian.web.shell import error_page

access_log = logging.getLogger("shulian.access")

#: No inline script or style anywhere (htmx's own indicator style is turned off in base.html);
#: inline SVG (the QR card) needs nothing; WebCrypto and the camera need nothing either.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; media-src 'self' blob:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_DEFAULT_PORTS = {"http": ":80", "https": ":443"}


def _origin(scheme: str, netloc: str) -> str:
    netloc = netloc.lower()
    default = _DEFAULT_PORTS.get(scheme, "")
    if default and netloc.endswith(default):
        netloc = netloc[: -len(default)]
    return f"{scheme}://{netloc}"


def _same_origin(scope: Scope, headers: Headers) -> bool | None:
    """Whether a request comes from a page of ours: True (its ``Origin`` is ours, scheme
    included), False (another site's, or ``null``), None (the browser did not say)."""
    origin = headers.get("origin")
    if origin is None:
        # Browsers that withhold Origin but send Fetch Metadata still say where it came from.
        return False if headers.get("sec-fetch-site") in ("cross-site", "same-site") else None
    sent = urlsplit(origin.strip())
    ours = _origin(scope.get("scheme", "http"), headers.get("host", ""))
    return bool(sent.scheme) and _origin(sent.scheme, sent.netloc) == ours


class RequestProtections:
    """Every request: its language (cookie, else the library's default); for a change, whether
    it came from our own pages (another site's refused, ours marked for ``core.deps``); the
    protective headers (CSP, no framing, ``no-store`` on all but static files, ``Secure``
    cookies over HTTPS, ``Retry-After`` on a 429 that knows it); and an access log line.

    Plain ASGI rather than ``@app.middleware("http")``: Starlette's ``BaseHTTPMiddleware`` runs
    the rest of the app in a task of its own and streams the response through a memory channel,
    which cost about a millisecond a request here."""

    def __init__(
        self, app: ASGIApp, *, default_language: Language, secure_cookies: bool = False
    ) -> None:
        self.app = app
        self.default_language = default_language
        self.secure_cookies = secure_cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        cookies = cookie_parser(headers.get("cookie", ""))
        lang = i18n.parse_language(cookies.get(LANG_COOKIE)) or self.default_language
        i18n.set_language(lang)
        state = scope.setdefault("state", {})
        if scope["method"] not in SAFE_METHODS and not headers.get(
            "authorization", ""
        ).lower().startswith("bearer "):
            verdict = _same_origin(scope, headers)
            if verdict is False:
                await _refuse_cross_origin(scope, receive, send)
                return
            state["same_origin"] = bool(verdict)
        static = scope["path"].startswith("/static/")
        secure = self.secure_cookies or scope.get("scheme") == "https"
        started = time.perf_counter()
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                out = MutableHeaders(scope=message)
                out.setdefault("X-Content-Type-Options", "nosniff")
                out.setdefault("Referrer-Policy", "same-origin")
                out.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                out.setdefault("X-Frame-Options", "DENY")
                if not static:
                    # Pages and answers carry names, loans, the account in the header bar.
                    out.setdefault("Cache-Control", "no-store")
                if status == 429 and state.get("retry_after"):
                    out["Retry-After"] = str(state["retry_after"])
                if secure:
                    message["headers"] = [
                        (k, v + b"; Secure")
                        if k.lower() == b"set-cookie" and b"secure" not in v.lower()
                        else (k, v)
                        for k, v in message["headers"]
                    ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            # Path only: query strings carry searches (names, card numbers) that must not be
            # logged.
            access_log.info(
                "%s %s %d %.1fms",
                scope["method"],
                scope["path"],
                status,
                (time.perf_counter() - started) * 1000,
            )


async def _refuse_cross_origin(scope: Scope, receive: Receive, send: Send) -> None:
    error = CrossOriginRequest()
    refusal: Response
    if scope["path"].startswith("/api/"):
        refusal = JSONResponse(
            {"error": error.code, "detail": error.detail, "message": error.localized()},
            status_code=error.status_code,
        )
    else:
        refusal = error_page(Request(scope), status=403, message=error.localized())
    refusal.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    refusal.headers["X-Frame-Options"] = "DENY"
    refusal.headers["Cache-Control"] = "no-store"
    await refusal(scope, receive, send)
