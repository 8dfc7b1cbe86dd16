"""Bulk import and export of catalogue files (MARC21, MARCXML, UNIMARC/CNMARC, CSV).

Rules:
- A bad record never stops the batch: the reader rejects it with its number and the reason, and
  a record the database refuses is retried alone and rejected alone.
- Duplicates are found by ISBN, then by normalised title + first author + year; a duplicate's
  items merge onto the existing record.
- Work commits in batches; the job remembers the last record number committed, so running the
  same file again resumes after it (the file is recognised by its SHA-256).
- Imported records are drafts for review, unless the import publishes them (a migration from
  another system run by an operator, ``--publish``).
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, BinaryIO

from sqlalchemy import Table, insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from shulian.catalog.bib import BibData, Contributor, Format, ItemData, Role
from shulian.catalog.errors import ImportFileUnreadable, ImportJobNotFound
from shulian.catalog.isbn import InvalidIsbn, normalize_isbn
from shulian.catalog.marc import ParsedRecord, RejectedRecord, read_records, write_records
from shulian.catalog.models import (
    ImportJob,
    ImportNote,
    ImportStatus,
    Item,
    ItemStatus,
    Record,
    RecordContributor,
    RecordIsbn,
    RecordStatus,
)
from shulian.catalog.normalize import match_key
from shulian.catalog.schemas import ImportJobRead, ImportNoteRead, ImportReport
from shulian.catalog.service import contributors_of, isbns_of, item_state, record_state
from shulian.consortium import service as consortium_service
from shulian.core import events

# Column limits (PostgreSQL enforces VARCHAR lengths): longer values are cut with a warning.
LIMITS = {
    "title": 1000, "responsibility": 1000, "publisher": 500, "place": 200, "edition": 200,
    "call_number": 200, "series": 500, "extent": 200, "cover_url": 1000, "clc": 64,
}  # fmt: skip


@dataclass(slots=True)
class Progress:
    bytes_done: int
    bytes_total: int
    records: int
    imported: int
    merged: int
    rejected: int


@dataclass(slots=True)
class _Prepared:
    number: int
    bib: BibData
    isbns: list[str]
    key: str
    warnings: list[str] = field(default_factory=list)


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@contextmanager
def open_catalog_file(path: Path) -> Iterator[tuple[BinaryIO, IO[bytes]]]:
    """The file's records stream (gunzipped if ``.gz``) and the raw file for progress."""
    raw = path.open("rb")
    try:
        if path.suffix == ".gz":
            with gzip.GzipFile(fileobj=raw, mode="rb") as gz:
                yield gz, raw  # type: ignore[misc]
        else:
            yield raw, raw
    finally:
        raw.close()


def import_file(
    factory: sessionmaker[Session],
    path: Path,
    *,
    actor: str,
    clock: Callable[[], datetime],
    format: str | None = None,
    encoding: str | None = None,
    publish: bool = False,
    branch: str | None = None,
    batch_size: int = 500,
    on_progress: Callable[[Progress], None] | None = None,
    stop: threading.Event | None = None,
    max_batches: int | None = None,
    transform: Callable[[int, BibData], None] | None = None,
) -> int:
    """Import ``path``; returns the import job's id. Resumes an unfinished job of the same file.

    ``branch`` is the home branch for items that name none. ``stop`` (or ``max_batches``) ends the
    import cleanly after the current batch, leaving the job resumable.
    Raises: ImportFileUnreadable, BranchNotFound.
    """
    with factory.begin() as session:
        job_id = start_job(
            session, path, actor=actor, now=clock(), format=format, publish=publish, branch=branch
        )
    run_job(
        factory,
        job_id,
        path,
        actor=actor,
        clock=clock,
        encoding=encoding,
        batch_size=batch_size,
        on_progress=on_progress,
        stop=stop,
        max_batches=max_batches,
        transform=transform,
    )
    return job_id


def start_job(
    session: Session,
    path: Path,
    *,
    actor: str,
    now: datetime,
    format: str | None = None,
    publish: bool = False,
    branch: str | None = None,
) -> int:
    """The import job for ``path``: the unfinished one of the same file, or a new one.

    Raises: ImportFileUnreadable, BranchNotFound.
    """
    if not path.is_file():
        raise ImportFileUnreadable(str(path), "no such file")
    sha = file_digest(path)
    if branch is not None:
        branch = consortium_service.get_branch_by_code(session, branch).code
    job = session.scalars(
        select(ImportJob).where(
            ImportJob.file_sha256 == sha, ImportJob.status == ImportStatus.RUNNING
        )
    ).first()
    if job is None:
        job = ImportJob(
            file_name=path.name,
            file_sha256=sha,
            format=format or "auto",
            status=ImportStatus.RUNNING,
            publish=publish,
            branch_code=branch,
            actor=actor,
            started_at=now,
        )
        session.add(job)
        session.flush()
    return job.id


def run_job(
    factory: sessionmaker[Session],
    job_id: int,
    path: Path,
    *,
    actor: str,
    clock: Callable[[], datetime],
    encoding: str | None = None,
    batch_size: int = 500,
    on_progress: Callable[[Progress], None] | None = None,
    stop: threading.Event | None = None,
    max_batches: int | None = None,
    transform: Callable[[int, BibData], None] | None = None,
) -> None:
    """Read ``path`` and store its records in batches, after the job's last committed record.

    ``transform(number, bib)`` may adjust each record before it is stored (the demo adds items).
    """
    with factory.begin() as session:
        job = session.get_one(ImportJob, job_id)
        known = {b.code for b in consortium_service.list_branches(session, include_inactive=True)}
        resume_after, publish, branch = job.position, job.publish, job.branch_code
        format = None if job.format == "auto" else job.format
    total = path.stat().st_size
    batches = 0
    with open_catalog_file(path) as (stream, raw):
        batch: list[ParsedRecord | RejectedRecord] = []
        finished = True
        for rec in read_records(stream, format=format, encoding=encoding):
            if rec.number <= resume_after:
                continue
            if transform is not None and isinstance(rec, ParsedRecord):
                transform(rec.number, rec.bib)
            batch.append(rec)
            if len(batch) >= batch_size:
                counts = _commit_batch(factory, job_id, batch, publish, branch, known, actor, clock)
                batch = []
                batches += 1
                if on_progress:
                    on_progress(Progress(raw.tell(), total, *counts))
                if (stop is not None and stop.is_set()) or (
                    max_batches is not None and batches >= max_batches
                ):
                    finished = False
                    break
        if finished:
            counts = _commit_batch(
                factory, job_id, batch, publish, branch, known, actor, clock, done=True
            )
            if on_progress:
                on_progress(Progress(total, total, *counts))


def _commit_batch(
    factory: sessionmaker[Session],
    job_id: int,
    batch: Sequence[ParsedRecord | RejectedRecord],
    publish: bool,
    branch: str | None,
    known: set[str],
    actor: str,
    clock: Callable[[], datetime],
    *,
    done: bool = False,
) -> tuple[int, int, int, int]:
    now = clock()
    with factory.begin() as session:
        job = session.get_one(ImportJob, job_id)
        notes: list[dict[str, Any]] = []
        good: list[_Prepared] = []
        saved: dict[int, list[str]] = {}
        for rec in batch:
            if isinstance(rec, RejectedRecord):
                notes.append(_note(job_id, rec.number, True, rec.source_id, rec.reason))
            else:
                good.append(_prepare(rec))
                saved[id(good[-1])] = list(good[-1].warnings)
        try:
            with session.begin_nested():
                result = _store(session, good, job, publish, branch, known, actor, now)
        except (IntegrityError, DBAPIError):
            # One record the database refuses must not sink the others: store them one by one.
            result = _Stored()
            for prep in good:
                prep.warnings = list(saved[id(prep)])
                try:
                    with session.begin_nested():
                        one = _store(session, [prep], job, publish, branch, known, actor, now)
                    result.add(one)
                except (IntegrityError, DBAPIError) as exc:
                    reason = f"the database refused it: {exc.orig or exc}".splitlines()[0]
                    sid = prep.bib.source_ids.get("001")
                    result.notes.append(_note(job_id, prep.number, True, sid, reason))
        notes.extend(result.notes)
        for prep in good:
            for w in prep.warnings:
                notes.append(_note(job_id, prep.number, False, prep.bib.source_ids.get("001"), w))
        if notes:
            session.execute(insert(ImportNote), notes)
        job.imported += result.imported
        job.merged += result.merged
        job.items_added += result.items
        job.rejected += sum(1 for n in notes if n["rejected"])
        if batch:
            job.position = batch[-1].number
        if done:
            job.status = ImportStatus.DONE
            job.finished_at = now
        return job.position, job.imported, job.merged, job.rejected


def _note(
    job_id: int, number: int, rejected: bool, source_id: str | None, reason: str
) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "number": number,
        "rejected": rejected,
        "source_id": (source_id or "")[:200] or None,
        "reason": reason,
    }


def _prepare(rec: ParsedRecord) -> _Prepared:
    bib = rec.bib
    warnings = list(rec.warnings)
    for name, limit in LIMITS.items():
        value = getattr(bib, name)
        if isinstance(value, str) and len(value) > limit:
            warnings.append(f"{name} is {len(value)} characters; cut to {limit}")
            setattr(bib, name, value[:limit])
    isbns: list[str] = []
    for raw in bib.isbns:
        try:
            isbn = normalize_isbn(raw)
        except InvalidIsbn as exc:
            warnings.append(f"ISBN dropped: {exc.detail}")
            continue
        if isbn not in isbns:
            isbns.append(isbn)
    first = bib.contributors[0].name if bib.contributors else None
    return _Prepared(rec.number, bib, isbns, match_key(bib.title, first, bib.year), warnings)


@dataclass(slots=True)
class _Stored:
    imported: int = 0
    merged: int = 0
    items: int = 0
    notes: list[dict[str, Any]] = field(default_factory=list)

    def add(self, other: _Stored) -> None:
        self.imported += other.imported
        self.merged += other.merged
        self.items += other.items
        self.notes.extend(other.notes)


def _store(
    session: Session,
    batch: Sequence[_Prepared],
    job: ImportJob,
    publish: bool,
    branch: str | None,
    known: set[str],
    actor: str,
    now: datetime,
) -> _Stored:
    out = _Stored()
    if not batch:
        return out
    # Existing records these may duplicate, by ISBN, then by match key.
    all_isbns = {i for p in batch for i in p.isbns}
    by_isbn: dict[str, int] = {}
    if all_isbns:
        for rid, isbn in session.execute(
            select(RecordIsbn.record_id, RecordIsbn.isbn).where(RecordIsbn.isbn.in_(all_isbns))
        ):
            by_isbn.setdefault(isbn, rid)
    by_key: dict[str, int] = dict(
        session.execute(
            select(Record.match_key, Record.id).where(
                Record.match_key.in_({p.key for p in batch}),
                Record.status != RecordStatus.WITHDRAWN,
            )
        ).all()
    )
    status = RecordStatus.PUBLISHED if publish else RecordStatus.DRAFT
    new: list[_Prepared] = []
    target: dict[int, int | _Prepared] = {}  # batch position -> existing id or the new record
    first_new: dict[str, _Prepared] = {}
    for pos, p in enumerate(batch):
        existing = next((by_isbn[i] for i in p.isbns if i in by_isbn), None) or by_key.get(p.key)
        twin = next((first_new[i] for i in p.isbns if i in first_new), None) or first_new.get(
            "k:" + p.key
        )
        if existing is not None:
            target[pos] = existing
        elif twin is not None:
            target[pos] = twin
        else:
            new.append(p)
            target[pos] = p
            for i in p.isbns:
                first_new.setdefault(i, p)
            first_new.setdefault("k:" + p.key, p)
    ids: dict[int, int] = {}  # id(prepared) -> new record id
    rows: list[dict[str, Any]] = []
    if new:
        rows = [_record_row(p, status, actor, now) for p in new]
        new_ids = allocate_ids(session, "records", len(rows))
        for row, rid in zip(rows, new_ids, strict=True):
            row["id"] = rid
        session.execute(insert(_table(Record)), rows)
        ids = {id(p): rid for p, rid in zip(new, new_ids, strict=True)}
        people = [
            {
                "record_id": ids[id(p)],
                "position": n,
                "name": c.name[:500],
                "role": c.role.value,
                "corporate": c.corporate,
            }
            for p in new
            for n, c in enumerate(p.bib.contributors)
        ]
        if people:
            session.execute(insert(_table(RecordContributor)), people)
        isbn_rows = [{"record_id": ids[id(p)], "isbn": i} for p in new for i in p.isbns]
        if isbn_rows:
            session.execute(insert(_table(RecordIsbn)), isbn_rows)
    evs: list[dict[str, Any]] = []
    for p, row in zip(new, rows, strict=True):
        contributors = [(c.name[:500], c.role.value, c.corporate) for c in p.bib.contributors]
        evs.append(
            {
                "type": "catalog.record.imported",
                "occurred_at": now,
                "actor": actor,
                "subject": f"record:{ids[id(p)]}",
                "payload": {
                    "status": status.value,
                    "state": record_state(row, contributors, p.isbns),
                    "job": job.id,
                },
            }
        )
    out.imported = len(new)
    # Items, onto the new or the existing record.
    wanted = [(pos, it) for pos, p in enumerate(batch) for it in p.bib.items if it.barcode.strip()]
    taken = set(
        session.scalars(
            select(Item.barcode).where(Item.barcode.in_({it.barcode for _, it in wanted}))
        )
    )
    item_rows: list[dict[str, Any]] = []
    merged_into: dict[int, int] = {}
    for pos, it in wanted:
        p = batch[pos]
        dest = target[pos]
        rid = dest if isinstance(dest, int) else ids[id(dest)]
        home = (it.branch or "").strip().upper() or branch
        barcode = it.barcode.strip()[:64]
        problem = None
        if barcode in taken:
            problem = f"item {barcode} skipped: the barcode is already on another item"
        elif home is None or home not in known:
            problem = f"item {barcode} skipped: unknown branch {it.branch or '(none)'}"
        if problem or home is None:
            p.warnings.append(problem or "")
            continue
        taken.add(barcode)
        item_rows.append(_item_row(rid, barcode, home, it, p.bib, now))
        if isinstance(dest, int):
            merged_into[dest] = merged_into.get(dest, 0) + 1
    for pos, p in enumerate(batch):
        dest = target[pos]
        if dest is not p:
            out.merged += 1
            rid = dest if isinstance(dest, int) else ids[id(dest)]
            evs.append(
                {
                    "type": "catalog.record.merged",
                    "occurred_at": now,
                    "actor": actor,
                    "subject": f"record:{rid}",
                    "payload": {"job": job.id, "number": p.number},
                }
            )
    if item_rows:
        item_ids = allocate_ids(session, "items", len(item_rows))
        for row, iid in zip(item_rows, item_ids, strict=True):
            row["id"] = iid
        session.execute(insert(_table(Item)), item_rows)
        for row, iid in zip(item_rows, item_ids, strict=True):
            state = item_state(Item(**row))
            evs.append(
                {
                    "type": "catalog.item.added",
                    "occurred_at": now,
                    "actor": actor,
                    "branch": row["branch_code"],
                    "subject": f"item:{iid}",
                    "payload": {"record": row["record_id"], "status": "available", "state": state},
                }
            )
    out.items = len(item_rows)
    events.record_many(session, evs)
    return out


def _table(model: type[Any]) -> Table:
    table: Table = model.__table__
    return table


def allocate_ids(session: Session, table: str, n: int) -> list[int]:
    """``n`` fresh primary keys for ``table``, so rows can be inserted in one ``executemany``
    without RETURNING (several times faster for bulk work).

    PostgreSQL hands them out from the table's sequence (safe with concurrent writers); on SQLite
    the caller holds the database's single write lock (``BEGIN IMMEDIATE``), so nobody else can
    take the same numbers.
    """
    if n == 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        return list(
            session.scalars(
                text(
                    "SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"
                ),
                {"t": table, "n": n},
            )
        )
    top = session.scalar(text(f"SELECT max(id) FROM {table}")) or 0  # noqa: S608 - fixed names
    return list(range(top + 1, top + 1 + n))


def _record_row(p: _Prepared, status: RecordStatus, actor: str, now: datetime) -> dict[str, Any]:
    b = p.bib
    return {
        "status": status,
        "title": b.title,
        "other_titles": b.other_titles,
        "responsibility": b.responsibility,
        "publisher": b.publisher,
        "place": b.place,
        "year": b.year if b.year is not None and 0 <= b.year <= 2100 else None,
        "edition": b.edition,
        "language": (b.language or "")[:3].lower() or None,
        "subjects": b.subjects,
        "clc": b.clc.strip().upper() if b.clc else None,
        "call_number": b.call_number,
        "summary": b.summary,
        "series": b.series,
        "extent": b.extent,
        "format": b.format.value,
        "cover_url": b.cover_url,
        "source_ids": b.source_ids,
        "match_key": p.key,
        "created_by": actor,
        "created_at": now,
        "updated_at": now,
        "published_at": now if status is RecordStatus.PUBLISHED else None,
        "version": 1,
    }


def _price_cents(price: str | None) -> tuple[int | None, str]:
    if not price:
        return None, "CNY"
    digits = "".join(ch for ch in price if ch.isdigit() or ch == ".")
    currency = "".join(ch for ch in price if ch.isalpha()).upper()[:3]
    try:
        cents = round(float(digits) * 100) if digits else None
    except ValueError:
        cents = None
    return cents, currency if len(currency) == 3 else "CNY"


def _item_row(
    record_id: int, barcode: str, home: str, it: ItemData, bib: BibData, now: datetime
) -> dict[str, Any]:
    cents, currency = _price_cents(it.price)
    return {
        "record_id": record_id,
        "barcode": barcode,
        "epc": None,
        "branch_code": home,
        "floor": (it.floor or "")[:20] or None,
        "shelf_range": (it.shelf_range or "")[:40] or None,
        "shelf": (it.shelf or "")[:40] or None,
        "layer": it.layer,
        "position": it.position,
        "call_number": (it.call_number or bib.call_number or "")[:200] or None,
        "item_type": (it.item_type or "book")[:32],
        "status": ItemStatus.AVAILABLE,
        "price_cents": cents,
        "currency": currency,
        "created_at": now,
        "updated_at": now,
    }


# -- reports -------------------------------------------------------------------------------------


def report(session: Session, job_id: int, *, limit: int = 1000) -> ImportReport:
    """How an import went: counts, and the first ``limit`` notes (rejections and warnings) by
    record number. Raises: ImportJobNotFound."""
    job = session.get(ImportJob, job_id)
    if job is None:
        raise ImportJobNotFound(job_id)
    notes = session.scalars(
        select(ImportNote)
        .where(ImportNote.job_id == job_id)
        .order_by(ImportNote.number)
        .limit(limit)
    )
    return ImportReport(
        job=ImportJobRead.model_validate(job),
        notes=[ImportNoteRead.model_validate(n) for n in notes],
    )


def recent_jobs(session: Session, *, limit: int = 20) -> list[ImportJobRead]:
    jobs = session.scalars(select(ImportJob).order_by(ImportJob.id.desc()).limit(limit))
    return [ImportJobRead.model_validate(j) for j in jobs]


# -- export --------------------------------------------------------------------------------------


def iter_bibs(
    session: Session, *, statuses: Sequence[RecordStatus] = (RecordStatus.PUBLISHED,)
) -> Iterator[BibData]:
    """Records with their items as ``BibData``, in id order, a thousand at a time."""
    after = 0
    while True:
        records = list(
            session.scalars(
                select(Record)
                .where(Record.id > after, Record.status.in_(statuses))
                .order_by(Record.id)
                .limit(1000)
            )
        )
        if not records:
            return
        ids = [r.id for r in records]
        people = contributors_of(session, ids)
        isbns = isbns_of(session, ids)
        items: dict[int, list[ItemData]] = {}
        for it in session.scalars(
            select(Item).where(Item.record_id.in_(ids), Item.status != ItemStatus.WITHDRAWN)
        ):
            price = f"{it.currency}{it.price_cents / 100:.2f}" if it.price_cents else None
            items.setdefault(it.record_id, []).append(
                ItemData(
                    barcode=it.barcode,
                    branch=it.branch_code,
                    call_number=it.call_number,
                    shelf=it.shelf,
                    item_type=it.item_type,
                    price=price,
                )
            )
        for r in records:
            yield BibData(
                title=r.title,
                other_titles=list(r.other_titles),
                responsibility=r.responsibility,
                contributors=[
                    Contributor(c.name, Role(c.role), c.corporate) for c in people.get(r.id, [])
                ],
                publisher=r.publisher,
                place=r.place,
                year=r.year,
                edition=r.edition,
                isbns=isbns.get(r.id, []),
                language=r.language,
                subjects=list(r.subjects),
                clc=r.clc,
                call_number=r.call_number,
                summary=r.summary,
                series=r.series,
                extent=r.extent,
                format=Format(r.format),
                cover_url=r.cover_url,
                source_ids=dict(r.source_ids),
                items=items.get(r.id, []),
            )
        after = ids[-1]


def export_file(
    session: Session,
    stream: BinaryIO,
    *,
    format: str,
    statuses: Sequence[RecordStatus] = (RecordStatus.PUBLISHED,),
) -> None:
    write_records(iter_bibs(session, statuses=statuses), stream, format=format)
