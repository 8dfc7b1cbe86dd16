"""HTTP API of search: results with facets, suggestions as you type, hot search terms.

Public (the reader's first screen needs no login), limited per client address.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from shulian.core.bounds import Page
from shulian.core.deps import NowDep, SessionDep
from shulian.core.errors import TooManyRequests
from shulian.search.documents import Facet, SearchQuery
from shulian.search.index import MAX_PER_PAGE
from shulian.search.schemas import HotTerm, SearchPage, Suggestions
from shulian.search.service import SearchService

router = APIRouter(prefix="/api/v1/search", tags=["search"])


class SearchRateLimited(TooManyRequests):
    def __init__(self, per_minute: int) -> None:
        super().__init__(
            "Too many searches from this address: at most {per_minute} a minute",
            per_minute=per_minute,
        )


class RateLimiter:
    """A sliding one-minute window per client address, in memory (per process)."""

    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str, per_minute: int) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._hits) > 50_000:  # forget idle addresses rather than grow without end
                self._hits = {k: v for k, v in self._hits.items() if v and now - v[-1] < 60}
            window = self._hits.setdefault(key, deque())
            while window and now - window[0] >= 60:
                window.popleft()
            if len(window) >= per_minute:
                raise SearchRateLimited(per_minute)
            window.append(now)


async def get_search(request: Request) -> SearchService:
    service: SearchService = request.app.state.search
    return service


async def limited_search(request: Request) -> SearchService:
    """The search service, once this client address is within its rate limit (one dependency
    for both: each one a request resolves costs it some time)."""
    state = request.app.state
    limiter: RateLimiter = state.search_limiter
    host = request.client.host if request.client else "unknown"
    limiter.check(host, state.settings.search_rate_per_minute)
    service: SearchService = state.search
    return service


async def limited(request: Request) -> None:
    """The rate limit alone, for pages that search."""
    await limited_search(request)


Search = Annotated[SearchService, Depends(get_search)]
LimitedSearch = Annotated[SearchService, Depends(limited_search)]


@router.get("", response_model=SearchPage)
async def search(
    engine: LimitedSearch,
    q: Annotated[str, Query(max_length=10_000)] = "",
    clc: Annotated[list[str] | None, Query()] = None,
    branch: Annotated[list[str] | None, Query()] = None,
    format: Annotated[list[str] | None, Query()] = None,
    language: Annotated[list[str] | None, Query()] = None,
    year: Annotated[list[str] | None, Query()] = None,
    available: Annotated[list[str] | None, Query()] = None,
    sort: str = "relevance",
    page: Page = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 20,
) -> Response:
    """Search the published catalogue (Chinese, pinyin, 繁/简, English, ISBN, call number).

    Values repeated within one filter are alternatives; filters combine. ``available`` takes
    ``any`` or a branch code.
    """
    # Async on purpose: a search reads only the index (a millisecond or two, in Rust and
    # Python), so running it on the event loop is cheaper than a hop to the thread pool and back.
    filters = {
        f.value: values
        for f, values in (
            (Facet.CLC, clc),
            (Facet.BRANCH, branch),
            (Facet.FORMAT, format),
            (Facet.LANGUAGE, language),
            (Facet.YEAR, year),
            (Facet.AVAILABLE, available),
        )
        if values
    }
    query = SearchQuery(text=q, filters=filters, sort=sort, page=page, per_page=per_page)
    # The page was validated when it was built: written out directly rather than validated
    # again against the response model (which still documents it).
    page_json = engine.search(query).model_dump_json()
    return Response(content=page_json, media_type="application/json")


@router.get("/suggest", response_model=Suggestions)
async def suggest(
    engine: LimitedSearch, q: Annotated[str, Query(max_length=200)] = ""
) -> Suggestions:
    """Whole titles for what has been typed so far: hanzi, pinyin, initials or Latin words."""
    return Suggestions(prefix=q, titles=engine.suggest(q) if q.strip() else [])


@router.get("/hot", response_model=list[HotTerm])
def hot(session: SessionDep, engine: Search, now: NowDep) -> list[HotTerm]:
    """The most searched terms of the last seven days."""
    return [HotTerm(term=t, count=n) for t, n in engine.hot_terms(session, now=now)]
