"""Shapes of search results on the wire."""

from __future__ import annotations

from pydantic import BaseModel

# A query's vocabulary (plain dataclasses and enums in documents.py, beside the index),
# re-exported for callers outside search: the catalogue's pages.
from shulian.search.documents import (
    Facet as Facet,
    SearchQuery as SearchQuery,
    Sort as Sort,
)


class SearchHitRead(BaseModel):
    record_id: int
    title: str
    authors: list[str]
    year: int | None
    publisher: str | None
    format: str
    clc: str | None
    cover_url: str | None
    copies: int
    available: int


class FacetValue(BaseModel):
    value: str
    count: int


class SearchPage(BaseModel):
    """One page of results. Facet counts apply every filter except the facet's own."""

    query: str
    total: int
    page: int
    per_page: int
    hits: list[SearchHitRead]
    facets: dict[str, list[FacetValue]]
    alternatives: list[str]


class Suggestions(BaseModel):
    prefix: str
    titles: list[str]


class HotTerm(BaseModel):
    term: str
    count: int
