"""The shapes going into and coming out of the search index.

``SearchDoc`` is one bibliographic record as the index sees it; ``SearchQuery`` is what a reader
asks; ``SearchResults`` is the answer. They are plain dataclasses: the API may wrap them with
pydantic (``TypeAdapter``) without the index depending on the web layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(slots=True)
class SearchDoc:
    record_id: int
    title: str
    other_titles: list[str] = field(default_factory=list)  # parallel, variant, romanised titles
    authors: list[str] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    summary: str | None = None
    publisher: str | None = None
    series: str | None = None
    isbns: list[str] = field(default_factory=list)  # normalised ISBN-13 strings (digits)
    call_number: str | None = None
    clc: str | None = None  # e.g. "I246.5"
    clc_top: str | None = None  # top class letter, e.g. "I"
    format: str = "book"  # book | ebook | audiobook | video | periodical
    language: str | None = None  # ISO 639-2, e.g. "chi", "eng"
    year: int | None = None
    branches: list[str] = field(default_factory=list)  # branch codes holding a copy
    available_branches: list[str] = field(default_factory=list)  # branches with a copy on shelf
    loans: int = 0  # how often borrowed
    added_at: int = 0  # unix seconds the record was published
    cover_url: str | None = None
    copies: int = 0  # copies not withdrawn
    available: int = 0  # copies on the shelf now


class Sort(StrEnum):
    """Result orders. ``relevance`` mildly favours often-borrowed records among equal matches."""

    RELEVANCE = "relevance"
    NEWEST = "newest"  # added_at, newest first
    MOST_BORROWED = "most_borrowed"  # loans, most first
    YEAR = "year"  # publication year, most recent first
    YEAR_ASC = "year_asc"  # publication year, oldest first


class Facet(StrEnum):
    """Facets readers can filter on and see counts for.

    ``available`` takes ``any`` (a copy on the shelf somewhere) or a branch code (on the shelf
    there). ``year`` takes the bucket keys of ``YEAR_BUCKETS``.
    """

    CLC = "clc"
    BRANCH = "branch"
    FORMAT = "format"
    LANGUAGE = "language"
    YEAR = "year"
    AVAILABLE = "available"


#: Publication-year buckets: key, first year (inclusive), last year + 1 (exclusive).
YEAR_BUCKETS: tuple[tuple[str, int | None, int | None], ...] = (
    ("-1949", None, 1950),
    ("1950-1979", 1950, 1980),
    ("1980-1999", 1980, 2000),
    ("2000-2009", 2000, 2010),
    ("2010-2019", 2010, 2020),
    ("2020-", 2020, None),
)

#: The ``available`` facet value meaning "on the shelf at any branch".
AVAILABLE_ANY = "any"


@dataclass(slots=True)
class SearchQuery:
    """A reader's search. Values within one facet are alternatives (OR); facets combine (AND)."""

    text: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)
    sort: Sort | str = Sort.RELEVANCE
    page: int = 1
    per_page: int = 20
    with_facets: bool = True


@dataclass(slots=True, frozen=True)
class SearchHit:
    """A line of results, read from the index's stored fields: as current as the last catch-up
    (within seconds of a change), like the facet counts beside it."""

    record_id: int
    score: float  # relevance score; for other sorts, the sort key
    title: str  # display title, original characters
    authors: list[str] = field(default_factory=list)
    year: int | None = None
    publisher: str | None = None
    format: str = "book"
    clc: str | None = None
    cover_url: str | None = None
    copies: int = 0
    available: int = 0


@dataclass(slots=True)
class SearchResults:
    """One page of results.

    ``facets`` maps each facet to ``(value, count)`` pairs, most frequent first (years in bucket
    order). Counts are drill-sideways: a facet's counts apply every filter except its own, so
    choosing one branch still shows how many results the other branches have.
    ``alternatives`` is filled only when nothing was found: queries the page can offer instead.
    """

    total: int
    hits: list[SearchHit]
    page: int
    per_page: int
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    alternatives: list[str] = field(default_factory=list)
