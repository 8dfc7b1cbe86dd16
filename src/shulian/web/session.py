"""The page login's cookie and the token our forms send back with every change.

The cookie holds a random session secret (``accounts.service.open_session``), HttpOnly and
SameSite=Lax; the middleware adds ``Secure`` whenever the request came over HTTPS. The form
token is derived from that secret with the library's key, so it needs no storage: a page of
ours puts it in each form (``{{ csrf_field }}``) and in htmx's headers, and a request whose
browser sent no ``Origin`` must bring it (``core.deps``).
"""

from __future__ import annotations

from starlette.responses import Response

from shulian.core.security import keyed_digest

SESSION_COOKIE = "shulian_session"


def csrf_token(secret: str, session_token: str) -> str:
    """The form token of one page login."""
    return keyed_digest(secret, f"csrf:{session_token}")


def set_session_cookie(response: Response, token: str, *, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="lax", path="/"
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", path="/")
