"""Search over the published catalogue: the index fed from the event spine, hydrated results,
suggestions and hot search terms.

The index is a replica: each serving node keeps its own under ``data_dir/search`` and brings it
up to date from the events table (``catch_up``); ``reindex`` rebuilds it from the catalogue.
Its read position is kept beside the index (``offset``), not in the database, because it belongs
to this copy of the index: delete the folder and the next catch-up starts from a full rebuild.

Hot terms: every search that found something counts its normalised text; counts collect in
memory and are written per hour to ``search_counts`` by the worker, so a search never waits for
a database write.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from shulian.catalog import clc, service as catalog_service
from shulian.circulation import service as circulation_service
from shulian.core.db import session_scope
from shulian.core.events import Event, Horizon
from shulian.search.documents import SearchDoc, SearchQuery
from shulian.search.index import SearchIndex
from shulian.search.models import SearchCount
from shulian.search.schemas import FacetValue, SearchHitRead, SearchPage

log = logging.getLogger("shulian.search")

OFFSET_FILE = "offset"
HOT_WINDOW = timedelta(days=7)
#: While a backlog is indexed, commit at least this often (seconds); see ``catch_up``.
COMMIT_EVERY = 2.0
_SPACES = re.compile(r"\s+")
_ID_LIKE = re.compile(r"^[\dxX-]+$")
_INDEXED_EVENTS = ("catalog.", "circulation.")


def _subject_record(subject: str | None, payload: dict[str, object]) -> int | None:
    if subject and subject.startswith("record:"):
        return int(subject[7:])
    rec = payload.get("record")
    return rec if isinstance(rec, int) else None


def to_doc(row: catalog_service.IndexRow, loans: int = 0) -> SearchDoc:
    r = row.record
    return SearchDoc(
        record_id=r.id,
        title=r.title,
        other_titles=list(r.other_titles or []),
        authors=row.authors,
        subjects=list(r.subjects or []),
        summary=r.summary,
        publisher=r.publisher,
        series=r.series,
        isbns=row.isbns,
        call_number=r.call_number,
        clc=r.clc,
        clc_top=clc.top_class(r.clc),
        format=r.format,
        language=r.language,
        year=r.year,
        branches=row.branches,
        available_branches=row.available_branches,
        loans=loans,
        added_at=int((r.published_at or r.created_at).timestamp()),
        cover_url=r.cover_url,
        copies=row.copies,
        available=row.available,
    )


class SearchService:
    """One node's search: its index replica, and the search counts waiting to be written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._index: SearchIndex | None = None
        self._open_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._counts_lock = threading.Lock()
        # How far the spine may be read (events above it may still be filled in, see
        # core.events): kept between rounds, as the replica's offset is.
        self._horizon = Horizon()

    @property
    def index(self) -> SearchIndex:
        if self._index is None:
            with self._open_lock:
                if self._index is None:
                    # A replica from another schema version is rebuilt: start reading at 0.
                    self._index = SearchIndex.open(self.path, rebuild=True)
                    if self._index.rebuilt:
                        self._set_offset(0)
        return self._index

    # -- keeping the replica current ------------------------------------------------------------

    def offset(self) -> int:
        try:
            return int((self.path / OFFSET_FILE).read_text().strip() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    def _set_offset(self, seq: int) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.path / (OFFSET_FILE + ".tmp")
        tmp.write_text(str(seq))
        tmp.replace(self.path / OFFSET_FILE)

    def catch_up(
        self,
        factory: sessionmaker[Session],
        *,
        batch_size: int = 5000,
        commit_every: float = COMMIT_EVERY,
    ) -> int:
        """Index the catalogue changes the spine recorded since this replica's offset.

        Changes are read in batches and committed to the index when the backlog is read, or
        every ``commit_every`` seconds while a large one (a bulk import) is worked through: each
        commit leaves a segment in the index, and searches slow down with many of them. The
        offset moves only after a commit, so a crash re-applies what was not committed (upserts
        by record id are idempotent). Returns how many events were read.
        Raises ``SearchIndexLocked``, having read nothing, when another process writes this
        index (it keeps it current; call ``index.reload()`` to see its commits).
        It only reads the database: give it read-only sessions (``make_sessionmaker(engine,
        readonly=True)``), so that on SQLite indexing never holds the write lock that checkouts
        and imports need.
        """
        with self._write_lock:
            # Several serving processes share one index: the one that is not its writer would
            # read and analyse every change only to be refused at the write.
            self.index.take_writer()
            done = 0
            with session_scope(factory) as session:
                newest = session.scalar(select(func.max(Event.seq))) or 0
                if self.offset() > newest:  # a different (recreated) database: start over
                    log.warning("search index is ahead of the database; rebuilding it")
                    self._reindex(session, self._horizon.safe_seq(session))
                    return 0
                safe = self._horizon.safe_seq(session)
                after = committed = self.offset()
                since, staged = time.monotonic(), False
                while True:
                    rows = session.execute(
                        select(Event.seq, Event.type, Event.subject, Event.payload)
                        .where(Event.seq > after, Event.seq <= safe)
                        .order_by(Event.seq)
                        .limit(batch_size)
                    ).all()
                    if rows:
                        ids = {
                            rid
                            for _seq, typ, subject, payload in rows
                            if typ.startswith(_INDEXED_EVENTS)
                            and (rid := _subject_record(subject, payload or {})) is not None
                        }
                        if ids:
                            self._apply(session, sorted(ids))
                            staged = True
                        after = rows[-1][0]
                        done += len(rows)
                    if after > committed and (not rows or time.monotonic() - since >= commit_every):
                        if staged:
                            self.index.commit()
                        self._set_offset(after)
                        committed, since, staged = after, time.monotonic(), False
                    if not rows:
                        return done

    def _apply(self, session: Session, record_ids: list[int]) -> None:
        """Stage the records' new state in the index writer (visible after a commit)."""
        for start in range(0, len(record_ids), 1000):
            chunk = record_ids[start : start + 1000]
            rows, gone = catalog_service.index_rows(session, chunk)
            if gone:
                self.index.delete(gone)
            if rows:
                loans = circulation_service.loan_counts(session, [r.record.id for r in rows])
                self.index.upsert(to_doc(r, loans.get(r.record.id, 0)) for r in rows)

    def reindex(
        self,
        factory: sessionmaker[Session],
        *,
        on_progress: Callable[[int, int], None] | None = None,
        memory: int | None = None,
    ) -> int:
        """Rebuild the index from the published catalogue. Returns the number of records.

        ``memory`` (bytes) sizes the index writer when this service has not opened one yet
        (see ``SearchIndex.writer_memory``). Raises ``SearchIndexLocked`` when another process
        writes the index.
        """
        if memory is not None:
            self.index.writer_memory = memory
        # Every change up to the safe seq is committed before the catalogue is read, so the
        # index holds it; later events may be applied again by the next catch-up (idempotent).
        safe = self._horizon.settle(factory)
        with self._write_lock, session_scope(factory) as session:
            return self._reindex(session, safe, on_progress=on_progress)

    def _reindex(
        self,
        session: Session,
        upto: int,
        *,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> int:
        total = catalog_service.count_published(session)
        self.index.clear()
        after, done = 0, 0
        while ids := catalog_service.published_ids(session, after=after, limit=2000):
            rows, _gone = catalog_service.index_rows(session, ids)
            loans = circulation_service.loan_counts(session, ids)
            self.index.upsert(to_doc(r, loans.get(r.record.id, 0)) for r in rows)
            done += len(rows)
            after = ids[-1]
            if on_progress:
                on_progress(done, total)
        self.index.commit()
        self._set_offset(upto)
        return done

    # -- searching ------------------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchPage:
        """One page of results, each with its authors, cover and copies on the shelf, read from
        the index alone (no table is read: a search costs the database nothing).

        Raises: QueryTooLong, PageTooDeep, InvalidPage, TooManyFilters, UnknownFilter,
        InvalidFilterValue, UnknownSort.
        """
        found = self.index.search(query)
        if found.total and query.text.strip() and query.page == 1:
            self.count_search(query.text)
        return SearchPage(
            query=query.text,
            total=found.total,
            page=found.page,
            per_page=found.per_page,
            hits=[SearchHitRead.model_validate(h, from_attributes=True) for h in found.hits],
            facets={
                name: [FacetValue(value=v, count=n) for v, n in values]
                for name, values in found.facets.items()
            },
            alternatives=found.alternatives,
        )

    def suggest(self, prefix: str, limit: int = 8) -> list[str]:
        return self.index.suggest(prefix, limit=limit)

    # -- hot search terms -----------------------------------------------------------------------

    def count_search(self, text: str) -> None:
        term = normalize_term(text)
        if term:
            with self._counts_lock:
                self._counts[term] += 1

    def flush_counts(self, factory: sessionmaker[Session], *, now: datetime) -> int:
        """Write the searches counted in memory into this hour's rows. Returns terms written."""
        with self._counts_lock:
            pending, self._counts = self._counts, Counter()
        if not pending:
            return 0
        hour = now.replace(minute=0, second=0, microsecond=0)
        try:
            with session_scope(factory) as session:
                add_counts(session, pending, hour=hour)
        except Exception:
            with self._counts_lock:  # keep them for the next round
                self._counts.update(pending)
            raise
        return len(pending)

    def hot_terms(
        self, session: Session, *, now: datetime, limit: int = 10
    ) -> list[tuple[str, int]]:
        """The most searched terms of the last seven days (searches that found something)."""
        totals = Counter(dict(stored_counts(session, since=now - HOT_WINDOW, limit=limit * 3)))
        with self._counts_lock:
            totals.update(self._counts)
        return totals.most_common(limit)


def normalize_term(text: str) -> str | None:
    """The form a search is counted under, or None for searches not worth showing others
    (identifiers, one character, very long text)."""
    term = _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip().lower()
    if len(term) < 2 or len(term) > 40 or _ID_LIKE.match(term):
        return None
    return term


def add_counts(session: Session, counts: Counter[str], *, hour: datetime) -> None:
    """Add ``counts`` to this hour's rows, in one upsert: several serving processes flush their
    counts at the same moments (every half minute, at shutdown), and two inserting the same new
    term would otherwise collide on (term, hour)."""
    if not counts:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(SearchCount).values(
        [{"term": term, "hour": hour, "count": n} for term, n in counts.items()]
    )
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["term", "hour"],
            set_={"count": SearchCount.count + stmt.excluded.count},
        )
    )


def stored_counts(session: Session, *, since: datetime, limit: int) -> Iterable[tuple[str, int]]:
    total = func.sum(SearchCount.count)
    rows = session.execute(
        select(SearchCount.term, total)
        .where(SearchCount.hour >= since)
        .group_by(SearchCount.term)
        .order_by(total.desc(), SearchCount.term)
        .limit(limit)
    )
    return [(term, int(n)) for term, n in rows]
