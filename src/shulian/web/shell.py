"""What belongs to no domain: the home page, the language switch, the staff workspace's start
page and the error page every domain's failures become outside ``/api``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shulian.consortium import service as consortium_service
from shulian.core import i18n
from shulian.core.deps import NowDep, OptionalPrincipal, SessionDep, SettingsDep, StaffUser
from shulian.web.catalog.views import new_arrivals
from shulian.web.consortium.views import KIND_LABELS
from shulian.web.forms import safe_next
from shulian.web.render import LANG_COOKIE, render

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, now: NowDep, who: OptionalPrincipal) -> Response:
    """Search box, popular searches, new arrivals and which branches are open today."""
    branches = consortium_service.list_branches(session)
    today = now.date()
    open_today = {
        b.code: consortium_service.is_open_on(session, code=b.code, day=today) for b in branches
    }
    ctx = {
        "branches": branches,
        "open_today": open_today,
        "kinds": KIND_LABELS,
        "hot": request.app.state.search.hot_terms(session, now=now),
        "arrivals": new_arrivals(session),
    }
    return render(request, "shell/home.html", ctx)


@router.get("/lang/{code}")
def switch_language(code: str, settings: SettingsDep, next: str = "/") -> Response:
    """Remember the chosen language in a cookie and go back (only to a page of this site)."""
    lang = i18n.parse_language(code) or settings.default_language
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax")
    return response


@router.get("/staff", response_class=HTMLResponse)
def staff_home(request: Request, staff: StaffUser) -> Response:
    """The staff workspace: a card for each part the staff member may use."""
    return render(request, "shell/staff/home.html", {})


def error_page(request: Request, *, status: int, message: str) -> HTMLResponse:
    """An error as a page in the reader's language, answered with its status."""
    return render(request, "error.html", {"status": status, "message": message}, status_code=status)
