"""The catalogue search index: one Tantivy document per bibliographic record.

Rules:

- One process writes at a time (Tantivy's writer lock); within a process writes are serialised
  by a lock. ``upsert``/``delete`` are visible after ``commit()``; readers in other processes
  pick up commits on their own (Tantivy reloads on commit).
- ``search`` and ``suggest`` may be called from many threads at once: each call takes its own
  searcher, so it sees one consistent set of segments.
- Limits, each refused with a ``BadRequest`` naming it: query text ``MAX_QUERY_CHARS`` characters
  after trimming (``QueryTooLong``); ``page``/``per_page`` within the first ``MAX_DEPTH`` results
  (``PageTooDeep``, ``InvalidPage``); ``MAX_FILTER_VALUES`` filter values in all
  (``TooManyFilters``); unknown facets and sorts (``UnknownFilter``, ``UnknownSort``) and
  malformed values (``InvalidFilterValue``).
- An index written under another ``SCHEMA_VERSION`` (or an unreadable Tantivy format) raises
  ``SearchIndexOutdated`` on open, or is emptied and recreated with ``rebuild=True`` (then
  ``rebuilt`` is True and the caller must reindex).
- A second writer on the same directory (another process, or another ``SearchIndex`` on the
  same path) raises ``SearchIndexLocked`` at its first write; ``close()`` releases the lock.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import tantivy

from shulian.search import analysis, fields, queries
from shulian.search.documents import (
    AVAILABLE_ANY,
    YEAR_BUCKETS,
    Facet,
    SearchDoc,
    SearchHit,
    SearchQuery,
    SearchResults,
    Sort,
)
from shulian.search.errors import (
    InvalidFilterValue,
    InvalidPage,
    PageTooDeep,
    QueryTooLong,
    SearchIndexLocked,
    SearchIndexOutdated,
    TooManyFilters,
    UnknownFilter,
    UnknownSort,
)

Q = tantivy.Query
Occur = tantivy.Occur

MAX_QUERY_CHARS = 200
MAX_DEPTH = 1000
MAX_PER_PAGE = 100
MAX_FILTER_VALUES = 20
MAX_FILTER_VALUE_CHARS = 64
MAX_SUGGEST = 20
VERSION_FILE = "shulian-search.json"
WRITER_HEAP_BYTES = 256_000_000
BROWSE_FACETS_TTL = 60.0
BROWSE_CACHE_SIZE = 256

_SORT_FIELDS: dict[Sort, tuple[str, Any]] = {
    Sort.NEWEST: ("added_at", tantivy.Order.Desc),
    Sort.MOST_BORROWED: ("loans", tantivy.Order.Desc),
    Sort.YEAR: ("year", tantivy.Order.Desc),
    Sort.YEAR_ASC: ("year", tantivy.Order.Asc),
}
# Facet -> (field, number of buckets returned).
_TERM_FACETS: dict[Facet, tuple[str, int]] = {
    Facet.CLC: ("clc_top", 30),
    Facet.BRANCH: ("branch", 100),
    Facet.FORMAT: ("format", 10),
    Facet.LANGUAGE: ("language", 30),
}
_YEAR_KEYS = {key: (lo, hi) for key, lo, hi in YEAR_BUCKETS}


class SearchIndex:
    """A Tantivy index of ``SearchDoc`` records; see the module docstring for the rules."""

    def __init__(self, index: Any, path: Path | None, *, rebuilt: bool = False) -> None:
        self._index = index
        self._schema = index.schema
        self._path = path
        self._writer: Any = None
        self._write_lock = threading.Lock()
        #: Memory of the writer taken next. Tantivy writes a segment each time it fills, and
        #: every segment costs every search: a rebuild with room for the whole catalogue
        #: (about 1 GB a million records) leaves one segment, searched about 40 % faster.
        self.writer_memory = WRITER_HEAP_BYTES
        # Filters -> (monotonic time, facets) for text-less browsing; see _browse_facets.
        self._browse_cache: dict[Any, tuple[float, dict[str, list[tuple[str, int]]]]] = {}
        self.rebuilt = rebuilt

    # --- lifecycle ------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, *, rebuild: bool = False) -> SearchIndex:
        """Open the index at ``path``, creating it when missing.

        Raises ``SearchIndexOutdated`` when the index there was built under another schema
        version, unless ``rebuild`` is set: then it is deleted and recreated empty.
        """
        path.mkdir(parents=True, exist_ok=True)
        version_file = path / VERSION_FILE
        rebuilt = False
        if tantivy.Index.exists(str(path)) and not cls._is_current(path):
            if not rebuild:
                raise SearchIndexOutdated(str(path))
            for child in path.iterdir():
                if child.is_dir():
                    shutil.rmtree(child)
                else:
                    child.unlink()
            rebuilt = True
        index = tantivy.Index(fields.build_schema(), path=str(path), reuse=True)
        if rebuilt or not version_file.exists():
            # Replaced whole, never rewritten in place: another serving process opening the
            # index at this moment must not read a half-written file and take it for outdated.
            tmp = path / (VERSION_FILE + ".tmp")
            tmp.write_text(json.dumps({"schema_version": fields.SCHEMA_VERSION}))
            tmp.replace(version_file)
        return cls(index, path, rebuilt=rebuilt)

    @classmethod
    def in_memory(cls) -> SearchIndex:
        """A throwaway index in RAM (tests, demos)."""
        return cls(tantivy.Index(fields.build_schema()), None)

    @staticmethod
    def _is_current(path: Path) -> bool:
        try:
            meta = json.loads((path / VERSION_FILE).read_text())
        except (OSError, ValueError):
            return False
        if not isinstance(meta, dict) or meta.get("schema_version") != fields.SCHEMA_VERSION:
            return False
        try:
            return bool(tantivy.Index.is_compatible(str(path)))
        except ValueError:
            return False

    def close(self) -> None:
        """Release the writer (and its lock on the index directory)."""
        with self._write_lock:
            if self._writer is not None:
                self._writer.rollback()
                self._writer.wait_merging_threads()
                self._writer = None

    # --- writing --------------------------------------------------------------------------

    def take_writer(self) -> None:
        """Become this index's writer now, before any work is done for a write.

        Raises ``SearchIndexLocked`` when another process (or ``SearchIndex``) writes it.
        """
        with self._write_lock:
            self._get_writer()

    def _get_writer(self) -> Any:
        if self._writer is None:
            try:
                # One indexing thread: each thread writes a segment of its own at every commit,
                # and searches slow down with the number of segments (the analysis, in Python,
                # is what limits indexing, not Tantivy).
                self._writer = self._index.writer(heap_size=self.writer_memory, num_threads=1)
            except ValueError as exc:  # Tantivy's lock file: another writer holds the index
                raise SearchIndexLocked(str(self._path or "(memory)")) from exc
        return self._writer

    def upsert(self, docs: Iterable[SearchDoc]) -> None:
        """Add records, replacing any indexed record with the same ``record_id`` (last wins)."""
        batch = {doc.record_id: doc for doc in docs}
        if not batch:
            return
        converted = [
            tantivy.Document.from_dict(fields.to_fields(doc), self._schema)
            for doc in batch.values()
        ]
        with self._write_lock:
            writer = self._get_writer()
            writer.delete_documents_by_query(
                Q.term_set_query(self._schema, "record_id", list(batch))
            )
            for document in converted:
                writer.add_document(document)

    def delete(self, record_ids: Iterable[int]) -> None:
        ids = list(dict.fromkeys(record_ids))
        if not ids:
            return
        with self._write_lock:
            self._get_writer().delete_documents_by_query(
                Q.term_set_query(self._schema, "record_id", ids)
            )

    def clear(self) -> None:
        """Delete every record (visible after ``commit``)."""
        with self._write_lock:
            self._get_writer().delete_all_documents()

    def commit(self) -> None:
        """Make the writes so far durable and visible to this process' searches."""
        with self._write_lock:
            if self._writer is not None:
                self._writer.commit()
        self._index.reload()
        self._browse_cache.clear()

    def reload(self) -> None:
        """See what another process committed to this index."""
        self._index.reload()

    def count(self) -> int:
        return int(self._index.searcher().num_docs)

    def segment_count(self) -> int:
        """How many segments a search goes through (each costs every search some time)."""
        return int(self._index.searcher().num_segments)

    # --- searching ------------------------------------------------------------------------

    def search(self, q: SearchQuery) -> SearchResults:
        """One page of records matching ``q`` (see the module docstring for limits)."""
        text = q.text.strip()
        if len(text) > MAX_QUERY_CHARS:
            raise QueryTooLong(MAX_QUERY_CHARS)
        if q.page < 1 or not 1 <= q.per_page <= MAX_PER_PAGE:
            raise InvalidPage(MAX_PER_PAGE)
        offset = (q.page - 1) * q.per_page
        if offset + q.per_page > MAX_DEPTH:
            raise PageTooDeep(MAX_DEPTH)
        sort = _parse_sort(q.sort)
        filters = _parse_filters(q.filters)

        searcher = self._index.searcher()
        query_plan = queries.plan(text)
        if query_plan.empty and text:
            # Text with nothing searchable in it ("*", one 300-letter word) finds nothing
            # rather than everything.
            scoring = Q.empty_query()
        elif query_plan.empty:
            # A bare all_query scores 0 inside a boolean query; a constant 1 keeps browsing
            # ordered by popularity (the boost weight).
            scoring = Q.const_score_query(Q.all_query(), 1.0)
        else:
            scoring = queries.build(self._schema, query_plan)
        filter_clauses = {f: self._filter_query(f, values) for f, values in filters.items()}
        full = _with_filters(scoring, list(filter_clauses.values()))
        result = self._run(searcher, full, sort, offset, q.per_page)
        if result.count == 0 and query_plan.clause_count > 1:
            scoring = queries.build(self._schema, query_plan, any_term=True)
            full = _with_filters(scoring, list(filter_clauses.values()))
            result = self._run(searcher, full, sort, offset, q.per_page)

        hits = self._hits(searcher, result.hits)
        facets: dict[str, list[tuple[str, int]]] = {}
        if q.with_facets and not text:
            facets = self._browse_facets(searcher, filters, filter_clauses)
        elif q.with_facets:
            facets = self._facets(searcher, scoring, filter_clauses)
        alternatives: list[str] = []
        if result.count == 0 and text and not filters:
            alternatives = self._alternatives(text, query_plan)
        return SearchResults(
            total=int(result.count),
            hits=hits,
            page=q.page,
            per_page=q.per_page,
            facets=facets,
            alternatives=alternatives,
        )

    def _run(self, searcher: Any, query: Any, sort: Sort, offset: int, limit: int) -> Any:
        if sort is Sort.RELEVANCE:
            return searcher.search(
                query, limit=limit, offset=offset, count=True, weight_by_field="boost"
            )
        field_name, order = _SORT_FIELDS[sort]
        return searcher.search(
            query, limit=limit, offset=offset, count=True, order_by_field=field_name, order=order
        )

    def _hits(self, searcher: Any, raw_hits: list[tuple[Any, Any]]) -> list[SearchHit]:
        if not raw_hits:
            return []
        addresses = [address for _, address in raw_hits]
        ids = searcher.fast_field_values("record_id", addresses)
        hits = []
        for (key, address), record_id in zip(raw_hits, ids, strict=True):
            doc = searcher.doc(address)
            title = doc.get_first("display")
            raw_line = doc.get_first("line")
            line: dict[str, Any] = json.loads(bytes(raw_line)) if raw_line is not None else {}
            hits.append(
                SearchHit(
                    record_id=int(record_id),
                    score=float(key) if key is not None else 0.0,
                    title=bytes(title).decode() if title is not None else "",
                    authors=line.get("a") or [],
                    year=line.get("y"),
                    publisher=line.get("p"),
                    format=line.get("f") or "book",
                    clc=line.get("c"),
                    cover_url=line.get("u"),
                    copies=int(line.get("n") or 0),
                    available=int(line.get("v") or 0),
                )
            )
        return hits

    def _filter_query(self, facet: Facet, values: list[str]) -> Any:
        if facet is Facet.YEAR:
            ranges = []
            for value in values:
                lo, hi = _YEAR_KEYS[value]
                ranges.append(
                    Q.range_query(
                        self._schema,
                        "year",
                        tantivy.FieldType.Integer,
                        lower_bound=lo,
                        upper_bound=hi - 1 if hi is not None else None,
                    )
                )
            return Q.boolean_query([(Occur.Should, r) for r in ranges])
        if facet is Facet.AVAILABLE:
            clauses = []
            branches = [v for v in values if v != AVAILABLE_ANY]
            if AVAILABLE_ANY in values:
                clauses.append(Q.term_query(self._schema, "avail_any", 1))
            if branches:
                clauses.append(Q.term_set_query(self._schema, "avail_branch", branches))
            return Q.boolean_query([(Occur.Should, c) for c in clauses])
        field_name, _ = _TERM_FACETS[facet]
        return Q.term_set_query(self._schema, field_name, values)

    def _facets(
        self, searcher: Any, scoring: Any, filter_clauses: dict[Facet, Any]
    ) -> dict[str, list[tuple[str, int]]]:
        """Facet counts, drill-sideways: each facet's counts apply every other facet's filter.

        Facets without a filter share one aggregation over the fully filtered query; each
        filtered facet costs one more aggregation.
        """
        out: dict[str, list[tuple[str, int]]] = {}
        unfiltered = [f for f in Facet if f not in filter_clauses]
        if unfiltered:
            query = _with_filters(scoring, list(filter_clauses.values()))
            out |= self._aggregate(searcher, query, unfiltered)
        for facet in filter_clauses:
            others = [c for f, c in filter_clauses.items() if f is not facet]
            out |= self._aggregate(searcher, _with_filters(scoring, others), [facet])
        return {f.value: out[f.value] for f in Facet}

    def _browse_facets(
        self, searcher: Any, filters: dict[Facet, list[str]], filter_clauses: dict[Facet, Any]
    ) -> dict[str, list[tuple[str, int]]]:
        """Facets of browsing without text, cached for ``BROWSE_FACETS_TTL`` seconds.

        Browsing aggregates over every record (the slowest search at a million records) and is
        what the home and category pages show; counts up to a minute old are fine there.
        Our own ``commit`` empties the cache.
        """
        key = tuple(sorted((f.value, tuple(sorted(v))) for f, v in filters.items()))
        now = time.monotonic()
        cached = self._browse_cache.get(key)
        if cached is not None and now - cached[0] < BROWSE_FACETS_TTL:
            return cached[1]
        scoring = Q.const_score_query(Q.all_query(), 1.0)
        facets = self._facets(searcher, scoring, filter_clauses)
        if len(self._browse_cache) >= BROWSE_CACHE_SIZE:
            self._browse_cache.clear()
        self._browse_cache[key] = (now, facets)
        return facets

    def _aggregate(
        self, searcher: Any, query: Any, facets: list[Facet]
    ) -> dict[str, list[tuple[str, int]]]:
        spec: dict[str, Any] = {}
        for facet in facets:
            if facet in _TERM_FACETS:
                field_name, size = _TERM_FACETS[facet]
                spec[facet.value] = {"terms": {"field": field_name, "size": size}}
            elif facet is Facet.YEAR:
                ranges = []
                for key, lo, hi in YEAR_BUCKETS:
                    bucket: dict[str, Any] = {"key": key}
                    if lo is not None:
                        bucket["from"] = lo
                    if hi is not None:
                        bucket["to"] = hi
                    ranges.append(bucket)
                spec["year"] = {"range": {"field": "year", "ranges": ranges}}
            else:
                spec["available_any"] = {
                    "range": {"field": "avail_any", "ranges": [{"from": 1, "key": AVAILABLE_ANY}]}
                }
                spec["available"] = {"terms": {"field": "avail_branch", "size": 100}}
        raw = searcher.aggregate(query, spec)
        out: dict[str, list[tuple[str, int]]] = {}
        for facet in facets:
            if facet is Facet.AVAILABLE:
                # Tantivy adds an implicit "*-1" bucket below the first range: pick ours by key.
                any_count = sum(
                    b["doc_count"]
                    for b in raw["available_any"]["buckets"]
                    if b["key"] == AVAILABLE_ANY
                )
                pairs = [(AVAILABLE_ANY, int(any_count))] if any_count else []
                out[facet.value] = pairs + _buckets(raw["available"])
            elif facet is Facet.YEAR:
                out[facet.value] = [
                    (str(b["key"]), int(b["doc_count"]))
                    for b in raw["year"]["buckets"]
                    if b["doc_count"]
                ]
            else:
                out[facet.value] = _buckets(raw[facet.value])
        return out

    # --- suggestions and alternatives -----------------------------------------------------

    def suggest(self, prefix: str, limit: int = 8) -> list[str]:
        """Whole titles (display form) starting with ``prefix`` in characters, full pinyin or
        pinyin initials, or Latin words; most borrowed first, then shortest."""
        key = analysis.suggestion_key(prefix[:MAX_QUERY_CHARS])
        limit = max(1, min(limit, MAX_SUGGEST))
        if not key:
            return []
        candidates = [key]
        if "_" in key:
            # Pinyin typed with spaces ("kuang ren") is stored without them.
            candidates.append(key.replace("_", ""))
        grams = [c[: fields.SUGGEST_MAX_CHARS] for c in candidates]
        searcher = self._index.searcher()
        result = searcher.search(
            Q.term_set_query(self._schema, "suggest", grams),
            limit=limit * 4,
            count=False,
            order_by_field="loans",
        )
        ranked: list[tuple[int, int, str]] = []
        seen: set[str] = set()
        for order, (_loans, address) in enumerate(result.hits):
            raw = searcher.doc(address).get_first("display")
            title = bytes(raw).decode() if raw is not None else ""
            norm = analysis.suggestion_key(title)
            if not title or norm in seen:
                continue
            if any(len(c) > fields.SUGGEST_MAX_CHARS for c in candidates) and not any(
                k.startswith(c) for k in analysis.suggestion_keys(title) for c in candidates
            ):
                continue  # only the first characters were compared through the n-grams
            seen.add(norm)
            ranked.append((order, len(title), title))
        # Hits come most borrowed first; among equal loan counts shorter titles go first.
        loans = [h[0] for h in result.hits]
        ranked.sort(key=lambda r: (-loans[r[0]], r[1]))
        return [title for _, _, title in ranked[:limit]]

    def _alternatives(self, text: str, query_plan: queries.QueryPlan) -> list[str]:
        """What to offer when nothing matched.

        - A pinyin query ("kuangren", "hlm") or a hanzi query with a wrong homophone
          (红楼孟) offers the titles its pinyin begins, via suggestions.
        - A Latin query offers titles beginning with it.
        """
        out: list[str] = []
        hanzi = query_plan.hanzi
        if hanzi:
            forms = analysis.pinyin_forms(hanzi, normalized=True)
            if forms is not None and forms.whole:
                out += self.suggest(forms.whole, limit=5)
        else:
            words = analysis.latin_words(text)
            if words:
                out += self.suggest(" ".join(words), limit=5)
        return [a for a in dict.fromkeys(out) if analysis.normalize(a) != analysis.normalize(text)]


def _buckets(raw: dict[str, Any]) -> list[tuple[str, int]]:
    return [(str(b["key"]), int(b["doc_count"])) for b in raw["buckets"] if b["doc_count"]]


def _with_filters(scoring: Any, filter_clauses: list[Any]) -> Any:
    if not filter_clauses:
        return scoring
    # Filters must not change scores: wrap them in a zero constant score.
    return Q.boolean_query(
        [(Occur.Must, scoring)]
        + [(Occur.Must, Q.const_score_query(c, 0.0)) for c in filter_clauses]
    )


def _parse_sort(sort: Sort | str) -> Sort:
    try:
        return Sort(sort)
    except ValueError:
        raise UnknownSort(str(sort)[:MAX_FILTER_VALUE_CHARS]) from None


def _parse_filters(raw: dict[str, list[str]]) -> dict[Facet, list[str]]:
    total = sum(len(v) for v in raw.values())
    if total > MAX_FILTER_VALUES:
        raise TooManyFilters(MAX_FILTER_VALUES)
    out: dict[Facet, list[str]] = {}
    for name, values in raw.items():
        try:
            facet = Facet(name)
        except ValueError:
            raise UnknownFilter(str(name)[:MAX_FILTER_VALUE_CHARS]) from None
        clean: list[str] = []
        for value in values:
            value = value.strip()
            if not value or len(value) > MAX_FILTER_VALUE_CHARS:
                raise InvalidFilterValue(facet.value, value[:MAX_FILTER_VALUE_CHARS])
            if facet is Facet.YEAR and value not in _YEAR_KEYS:
                raise InvalidFilterValue(facet.value, value)
            if facet is Facet.CLC:
                value = value.upper()
            elif facet is Facet.LANGUAGE:
                value = value.lower()
            clean.append(value)
        if clean:
            out[facet] = list(dict.fromkeys(clean))
    return out
