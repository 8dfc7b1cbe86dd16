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
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, BinaryIO

from sqlalchemy import func, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from shulian.catalog.bib import BibData
from shulian.catalog.errors import ImportFileUnreadable, ImportJobNotFound
from shulian.catalog.importer.storing import Prepared, Stored, prepare, store
from shulian.catalog.marc import ParsedRecord, RejectedRecord, read_records
from shulian.catalog.models import ImportJob, ImportNote
from shulian.catalog.schemas import ImportJobRead, ImportNoteRead, ImportReport
from shulian.catalog.types import ImportStatus
from shulian.consortium import service as consortium_service


@dataclass(slots=True)
class Progress:
    bytes_done: int
    bytes_total: int
    records: int
    imported: int
    merged: int
    rejected: int


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
        good: list[Prepared] = []
        saved: dict[int, list[str]] = {}
        for rec in batch:
            if isinstance(rec, RejectedRecord):
                notes.append(_note(job_id, rec.number, True, rec.source_id, rec.reason))
            else:
                good.append(prepare(rec))
                saved[id(good[-1])] = list(good[-1].warnings)
        try:
            with session.begin_nested():
                result = store(session, good, job, publish, branch, known, actor, now)
        except (IntegrityError, DBAPIError):
            # One record the database refuses must not sink the others: store them one by one.
            result = Stored()
            for prep in good:
                prep.warnings = list(saved[id(prep)])
                try:
                    with session.begin_nested():
                        one = store(session, [prep], job, publish, branch, known, actor, now)
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


# -- reports -------------------------------------------------------------------------------------


def report(
    session: Session, job_id: int, *, limit: int = 1000, rejections_first: bool = False
) -> ImportReport:
    """How an import went: counts, and the first ``limit`` notes (rejections and warnings) by
    record number, the rejections before the warnings when ``rejections_first``.
    Raises: ImportJobNotFound."""
    job = session.get(ImportJob, job_id)
    if job is None:
        raise ImportJobNotFound(job_id)
    query = select(ImportNote).where(ImportNote.job_id == job_id)
    if rejections_first:
        query = query.order_by(ImportNote.rejected.desc())
    notes = session.scalars(query.order_by(ImportNote.number).limit(limit))
    return ImportReport(
        job=ImportJobRead.model_validate(job),
        notes=[ImportNoteRead.model_validate(n) for n in notes],
    )


def note_count(session: Session, job_id: int) -> int:
    """How many notes (rejections and warnings) an import has written."""
    return session.scalar(select(func.count(ImportNote.id)).where(ImportNote.job_id == job_id)) or 0


def recent_jobs(session: Session, *, limit: int = 20) -> list[ImportJobRead]:
    jobs = session.scalars(select(ImportJob).order_by(ImportJob.id.desc()).limit(limit))
    return [ImportJobRead.model_validate(j) for j in jobs]
