"""Import + index, end to end, on real Library of Congress records; pymarc's parse-only rate on
the same file in the same run.

    .venv/bin/python benchmarks/catalog_import.py [--data ../shared/data] [--copies 1]
        [--limit N] [--database-url URL]

The catalogue grows by ``--copies`` passes over ``loc-booksall-250k.mrc.gz``; passes after the
first are re-keyed copies (new 001, shifted year, ISBNs dropped) so that they are new records
rather than merged duplicates: 4 copies = 1,000,000 records. End to end means: file read and
parsed, records mapped and stored with their events (SQLite by default, in a fresh temp dir),
then the search index brought up to date from the event spine, until the last record is
searchable. The data is not shipped with the project: the script says what is missing.
"""

from __future__ import annotations

import argparse
import gzip
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from shulian.catalog import importer
from shulian.catalog.bib import BibData
from shulian.consortium import service as consortium_service
from shulian.consortium.models import BranchKind
from shulian.consortium.schemas import BranchCreate
from shulian.core.db import make_engine, make_sessionmaker, session_scope
from shulian.migrations import upgrade
from shulian.search.documents import SearchQuery
from shulian.search.service import SearchService

FILE = "marc/loc-booksall-250k.mrc.gz"


def pymarc_rate(path: Path, limit: int | None) -> tuple[int, float]:
    import pymarc

    n, t0 = 0, time.perf_counter()
    with gzip.open(path, "rb") as f:
        for rec in pymarc.MARCReader(f, to_unicode=True, force_utf8=True):
            if rec is not None:
                n += 1
            if limit and n >= limit:
                break
    return n, time.perf_counter() - t0


def our_parse_rate(path: Path, limit: int | None) -> tuple[int, float]:
    from shulian.catalog.marc import read_records

    n, t0 = 0, time.perf_counter()
    with gzip.open(path, "rb") as f:
        for _rec in read_records(f, format="marc21"):  # type: ignore[arg-type]
            n += 1
            if limit and n >= limit:
                break
    return n, time.perf_counter() - t0


def rekey(copy: int):  # type: ignore[no-untyped-def]
    def transform(number: int, bib: BibData) -> None:
        bib.source_ids = {"001": f"{bib.source_ids.get('001', number)}-c{copy}"}
        bib.isbns = []
        bib.year = (bib.year or 1900) + copy
        bib.other_titles = [*bib.other_titles, f"copy {copy}"]

    return transform


def index_loop(work: Path, url: str) -> int:
    """The second process of ``--parallel``: catch up until the import is done and all read."""
    engine = make_engine(url)
    factory = make_sessionmaker(engine, readonly=True)
    search = SearchService(work / "search")
    while True:
        finished = (work / "import.done").exists()
        if search.catch_up(factory) == 0 and finished:
            break
        if not finished:
            time.sleep(0.5)
    engine.dispose()
    return 0


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--index-loop":
        return index_loop(Path(sys.argv[2]), sys.argv[4])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--copies", type=int, default=1)
    ap.add_argument("--limit", type=int, default=None, help="only the first N records per pass")
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--keep", type=Path, default=None, help="keep the database and index here")
    ap.add_argument(
        "--parallel",
        action="store_true",
        help="index in a second process while importing (as `serve` does beside a CLI import)",
    )
    args = ap.parse_args()
    path = args.data / FILE
    if not path.is_file():
        print(f"missing {path}: pass --data pointing at the shared data folder", file=sys.stderr)
        return 2

    work = args.keep or Path(tempfile.mkdtemp(prefix="shulian-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    url = args.database_url or f"sqlite:///{work / 'bench.db'}"
    engine = make_engine(url)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    clock = lambda: datetime.now(UTC)  # noqa: E731
    with session_scope(factory) as s:
        consortium_service.create_branch(
            s,
            data=BranchCreate(
                code="CEN", name_zh="总馆", name_en="Central", kind=BranchKind.CENTRAL
            ),
            actor="bench",
            now=clock(),
        )

    n_ours, t_ours = our_parse_rate(path, args.limit)
    n_pm, t_pm = pymarc_rate(path, args.limit)
    print(f"parse only: ours {n_ours / t_ours:,.0f} rec/s, pymarc {n_pm / t_pm:,.0f} rec/s "
          f"(ours/pymarc {(n_ours / t_ours) / (n_pm / t_pm):.2f}x)")  # fmt: skip

    search = SearchService(work / "search")
    limit_batches = None
    done_flag = work / "import.done"
    done_flag.unlink(missing_ok=True)
    indexer = None
    if args.parallel:
        indexer = subprocess.Popen(
            [sys.executable, __file__, "--index-loop", str(work), "--database-url", url]
        )
    t0 = time.perf_counter()
    t_import = 0.0
    for copy in range(args.copies):
        t1 = time.perf_counter()
        importer.import_file(
            factory,
            path,
            actor="bench",
            clock=clock,
            format="marc21",
            publish=True,
            batch_size=1000,
            transform=rekey(copy) if copy else None,
            max_batches=(args.limit // 1000) if args.limit else limit_batches,
        )
        t_import += time.perf_counter() - t1
    t_index0 = time.perf_counter()
    if indexer is not None:
        done_flag.touch()
        indexer.wait()
        search.index.reload()
    else:
        search.catch_up(factory)
    t_index = time.perf_counter() - t_index0
    total = time.perf_counter() - t0
    with factory() as s:
        from sqlalchemy import func, select

        from shulian.catalog.models import Record
        from shulian.core.events import Event

        records = s.scalar(select(func.count(Record.id))) or 0
        events = s.scalar(select(func.count(Event.seq))) or 0
    docs = search.index.count()
    probe = search.index.search(SearchQuery(text="history", per_page=1))
    print(f"records stored {records:,}, events {events:,}, documents indexed {docs:,}, "
          f"'history' finds {probe.total:,}")  # fmt: skip
    what = "index finishing after the import" if indexer else "index catch-up"
    print(f"import {t_import:.1f}s ({records / t_import:,.0f} rec/s), "
          f"{what} {t_index:.1f}s ({docs / t_index:,.0f} doc/s)")  # fmt: skip
    print(
        f"END TO END: {records:,} records in {total:.1f}s = {records / total:,.0f} rec/s "
        f"(goal >= 3,500); vs pymarc parse-only {(records / total) / (n_pm / t_pm):.2f}x"
    )
    db = work / "bench.db"
    if db.exists():
        idx = sum(f.stat().st_size for f in (work / "search").rglob("*") if f.is_file())
        print(f"database {db.stat().st_size / 1e6:,.0f} MB, index {idx / 1e6:,.0f} MB, in {work}")
    engine.dispose()
    print(f"pid {os.getpid()} max RSS {_max_rss_mb():,.0f} MB")
    return 0


def _max_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    raise SystemExit(main())
