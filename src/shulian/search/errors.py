"""Errors of the search domain. Templates are the translation msgids."""

from __future__ import annotations

from shulian.core.errors import BadRequest, ConfigurationError


class QueryTooLong(BadRequest):
    def __init__(self, limit: int) -> None:
        super().__init__("The search is too long: at most {limit} characters", limit=limit)


class PageTooDeep(BadRequest):
    def __init__(self, limit: int) -> None:
        super().__init__(
            "Results can only be browsed to the first {limit}: narrow the search", limit=limit
        )


class InvalidPage(BadRequest):
    def __init__(self, max_per_page: int) -> None:
        super().__init__(
            "The page must be 1 or more, with 1 to {max_per_page} results per page",
            max_per_page=max_per_page,
        )


class TooManyFilters(BadRequest):
    def __init__(self, limit: int) -> None:
        super().__init__("Too many filters: at most {limit} values at once", limit=limit)


class UnknownFilter(BadRequest):
    def __init__(self, name: str) -> None:
        super().__init__("Unknown filter: {name}", name=name)


class InvalidFilterValue(BadRequest):
    def __init__(self, name: str, value: str) -> None:
        super().__init__("Invalid value for filter {name}: {value}", name=name, value=value)


class UnknownSort(BadRequest):
    def __init__(self, sort: str) -> None:
        super().__init__("Unknown sort order: {sort}", sort=sort)


class SearchIndexOutdated(ConfigurationError):
    def __init__(self, path: str) -> None:
        super().__init__(
            "The search index at {path} was built by another version: run `shulian search reindex`",
            path=path,
        )


class SearchIndexLocked(ConfigurationError):
    def __init__(self, path: str) -> None:
        super().__init__(
            "The search index at {path} is being written by another process", path=path
        )
