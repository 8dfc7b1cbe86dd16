"""The network's public pages: the branch tree (``/branches``) and one branch with its opening
hours and the closed days of the next two months (``/branches/{code}``)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from shulian.consortium import service as consortium_service
from shulian.core.deps import NowDep, OptionalPrincipal, SessionDep
from shulian.web.consortium.views import KIND_LABELS
from shulian.web.render import render

router = APIRouter(include_in_schema=False)


@router.get("/branches", response_class=HTMLResponse)
def network(request: Request, session: SessionDep, who: OptionalPrincipal) -> Response:
    """The network as a tree: central library, branches, self-service libraries, delivery points."""
    return render(
        request,
        "consortium/branches.html",
        {"tree": consortium_service.branch_tree(session), "kinds": KIND_LABELS},
    )


@router.get("/branches/{code}", response_class=HTMLResponse)
def branch_page(
    code: str, request: Request, session: SessionDep, now: NowDep, who: OptionalPrincipal
) -> Response:
    """One branch: address, opening hours, closed days. Raises: BranchNotFound (a 404 page)."""
    branch = consortium_service.get_branch_by_code(session, code)
    cal = consortium_service.calendar(
        session, code=branch.code, start=now.date(), end=now.date() + timedelta(days=60)
    )
    return render(
        request,
        "consortium/branch.html",
        {"branch": branch, "calendar": cal, "kinds": KIND_LABELS},
    )
