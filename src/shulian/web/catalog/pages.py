"""The catalogue as readers see it: search results, record pages, the CLC tree, the scan page.

Public pages: anyone may search and look at published records; staff also see unpublished ones
on the record page (as in the API).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shulian.catalog import clc, service as catalog_service
from shulian.catalog.schemas import RecordStatus
from shulian.core.bounds import Id, Page
from shulian.core.deps import OptionalPrincipal, SessionDep
from shulian.core.errors import BadRequest, ShulianError
from shulian.core.security import Principal
from shulian.search.api import limited
from shulian.search.schemas import SearchPage, SearchQuery, Sort
from shulian.search.service import SearchService
from shulian.web.catalog import views as catalog_views
from shulian.web.circulation.views import pickup_branches
from shulian.web.consortium.views import branch_names
from shulian.web.forms import error_text
from shulian.web.render import render

router = APIRouter(include_in_schema=False)
Limited = Depends(limited)
PER_PAGE = 20
SORTS = [s.value for s in Sort]


def _search(request: Request) -> SearchService:
    service: SearchService = request.app.state.search
    return service


def _staff(who: Principal | None) -> bool:
    return who is not None and who.kind == "staff"


@router.get("/search", response_class=HTMLResponse, dependencies=[Limited])
def search_page(
    request: Request,
    session: SessionDep,
    who: OptionalPrincipal,
    q: Annotated[str, Query(max_length=10_000)] = "",
    sort: str = "relevance",
    page: Page = 1,
) -> Response:
    """Results with facets as toggle links; a refused query (too long, too deep) is a message on
    the page, not an error page."""
    filters = {
        name: values
        for name in catalog_views.FACETS
        if (values := [v for v in request.query_params.getlist(name) if v])
    }
    result: SearchPage | None = None
    error = None
    status = 200
    try:
        query = SearchQuery(text=q, filters=filters, sort=sort, page=page, per_page=PER_PAGE)
        result = _search(request).search(query)
    except BadRequest as exc:
        error, status = error_text(exc), exc.status_code
    tree = clc.tree()
    ctx = {
        "q": q,
        "sort": sort,
        "sorts": SORTS,
        "filters": filters,
        "result": result,
        "error": error,
        "branch_names": branch_names(session),
        "clc_names": {code: tree.classes[code].name for code in tree.tops},
        "search_url": catalog_views.search_url,
        "toggled": catalog_views.toggled,
    }
    return render(request, "catalog/search.html", ctx, status_code=status)


@router.get("/search/suggest", response_class=HTMLResponse, dependencies=[Limited])
def suggest_fragment(request: Request, q: Annotated[str, Query(max_length=200)] = "") -> Response:
    """Titles for what has been typed so far, as links for the home page's search box."""
    titles = _search(request).suggest(q) if q.strip() else []
    return render(request, "catalog/_suggest.html", {"titles": titles})


@router.get("/records/{record_id}", response_class=HTMLResponse)
def record_page(
    record_id: Id, request: Request, session: SessionDep, who: OptionalPrincipal
) -> Response:
    detail = catalog_service.record_detail(session, record_id, published_only=not _staff(who))
    ctx = {"d": detail, "r": detail.record, "pickup_branches": pickup_branches(session)}
    return render(request, "catalog/record.html", ctx)


@router.get("/clc", response_class=HTMLResponse)
def clc_top(request: Request, who: OptionalPrincipal) -> Response:
    tree = clc.tree()
    children = [tree.classes[c] for c in tree.tops]
    return render(request, "catalog/clc.html", {"klass": None, "crumbs": [], "children": children})


@router.get("/clc/{code}", response_class=HTMLResponse)
def clc_class(
    code: Annotated[str, Path(max_length=64)],
    request: Request,
    session: SessionDep,
    who: OptionalPrincipal,
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
) -> Response:
    """A class: the path from its top class, its sub-classes and the books filed under it."""
    tree = clc.tree()
    klass = tree.get(code)
    books = catalog_service.list_records(
        session, status=RecordStatus.PUBLISHED, clc_prefix=klass.code, page=page, size=20
    )
    ctx = {
        "klass": klass,
        "crumbs": tree.path(klass.code),
        "children": [tree.classes[c] for c in klass.children],
        "books": books,
    }
    return render(request, "catalog/clc.html", ctx)


@router.get("/scan", response_class=HTMLResponse)
def scan_page(request: Request, who: OptionalPrincipal, code: str = "") -> Response:
    """The camera scanner; the manual box sends ``code`` here, and on to ``/scan/{code}``."""
    if code.strip():
        return RedirectResponse(f"/scan/{code.strip()[:64]}", status_code=303)
    return render(request, "catalog/scan.html", {"code": "", "error": None})


@router.get("/scan/{code}", response_class=HTMLResponse)
def scan_code(
    code: Annotated[str, Path(max_length=64)],
    request: Request,
    session: SessionDep,
    who: OptionalPrincipal,
) -> Response:
    """An item barcode or an ISBN opens its record page; anything else says it was not found."""
    try:
        found = catalog_service.resolve_scan(session, code, published_only=not _staff(who))
    except ShulianError as exc:
        return render(
            request,
            "catalog/scan.html",
            {"code": code, "error": error_text(exc)},
            status_code=exc.status_code,
        )
    return RedirectResponse(f"/records/{found.record_id}", status_code=303)
