"""HTTP API of the catalogue.

Readers (and anyone) see published records, their holdings and digital versions, scan results
and the CLC tree. Staff see every record; entering, reviewing, publishing and item work each need
their own permission.
"""

from __future__ import annotations

import logging
import re
import tempfile
from datetime import datetime
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, File, Form, Path, Query, Request, UploadFile, status
from fastapi.responses import FileResponse, StreamingResponse
from sqlalchemy.orm import Session

from shulian.catalog import clc, importer, service
from shulian.catalog.errors import DigitalResourceNotFound, ImportFileUnreadable, UploadTooLarge
from shulian.catalog.marc import FORMATS
from shulian.catalog.marc.encoding import resolve_encoding
from shulian.catalog.models import DigitalResource, ImportJob
from shulian.catalog.schemas import (
    DigitalResourceCreate,
    DigitalResourceRead,
    ImportJobRead,
    ImportReport,
    ItemCreate,
    ItemRead,
    ItemUpdate,
    RecordCreate,
    RecordDetail,
    RecordPage,
    RecordRead,
    RecordUpdate,
    ReviewDecision,
    ScanResult,
)
from shulian.catalog.types import DigitalKind, RecordStatus
from shulian.core.bounds import Id
from shulian.core.config import Settings
from shulian.core.deps import NowDep, OptionalPrincipal, SessionDep, SettingsDep, StaffUser, require
from shulian.core.security import Principal

log = logging.getLogger("shulian.catalog")
router = APIRouter(prefix="/api/v1/catalog", tags=["catalogue"])
Cataloguer = Annotated[Principal, require("catalog.record.create")]
Reviewer = Annotated[Principal, require("catalog.record.review")]
Publisher = Annotated[Principal, require("catalog.record.publish")]
ItemManager = Annotated[Principal, require("catalog.item.manage")]

MAX_UPLOAD_MB = 200


def _staff_view(who: Principal | None) -> bool:
    return who is not None and who.kind == "staff"


@router.get("/records", response_model=RecordPage)
def list_records(
    session: SessionDep,
    who: StaffUser,
    status: RecordStatus | None = None,
    clc_prefix: Annotated[str | None, Query(max_length=64)] = None,
    page: Annotated[int, Query(ge=1, le=10000)] = 1,
    size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> RecordPage:
    """Every record, for staff (the review queue is ``status=in_review``)."""
    return service.list_records(session, status=status, clc_prefix=clc_prefix, page=page, size=size)


@router.post("/records", response_model=RecordRead, status_code=status.HTTP_201_CREATED)
def create_record(
    body: RecordCreate, session: SessionDep, now: NowDep, who: Cataloguer
) -> RecordRead:
    record = service.create_record(session, data=body, actor=who.actor, now=now)
    return service.record_read(session, record)


@router.get("/records/{record_id}", response_model=RecordDetail)
def get_record(record_id: Id, session: SessionDep, who: OptionalPrincipal) -> RecordDetail:
    """A record with holdings in every branch and its digital versions; readers see published
    records only."""
    return service.record_detail(session, record_id, published_only=not _staff_view(who))


@router.put("/records/{record_id}", response_model=RecordRead)
def update_record(
    record_id: Id, body: RecordUpdate, session: SessionDep, now: NowDep, who: Cataloguer
) -> RecordRead:
    record = service.update_record(
        session, record_id=record_id, data=body, actor=who.actor, now=now
    )
    return service.record_read(session, record)


def _step(session: SessionDep, record_id: int, action: str, who: Principal, now: NowDep,
          comment: str = "") -> RecordRead:  # fmt: skip
    record = service.transition(
        session, record_id=record_id, action=action, actor=who.actor, now=now, comment=comment
    )
    return service.record_read(session, record)


@router.post("/records/{record_id}/submit", response_model=RecordRead)
def submit(record_id: Id, session: SessionDep, now: NowDep, who: Cataloguer) -> RecordRead:
    return _step(session, record_id, "submit", who, now)


@router.post("/records/{record_id}/approve", response_model=RecordRead)
def approve(
    record_id: Id, body: ReviewDecision, session: SessionDep, now: NowDep, who: Reviewer
) -> RecordRead:
    return _step(session, record_id, "approve", who, now, body.comment)


@router.post("/records/{record_id}/return", response_model=RecordRead)
def return_record(
    record_id: Id, body: ReviewDecision, session: SessionDep, now: NowDep, who: Reviewer
) -> RecordRead:
    return _step(session, record_id, "return", who, now, body.comment)


@router.post("/records/{record_id}/publish", response_model=RecordRead)
def publish(record_id: Id, session: SessionDep, now: NowDep, who: Publisher) -> RecordRead:
    return _step(session, record_id, "publish", who, now)


@router.post("/records/{record_id}/withdraw", response_model=RecordRead)
def withdraw(record_id: Id, session: SessionDep, now: NowDep, who: Publisher) -> RecordRead:
    return _step(session, record_id, "withdraw", who, now)


@router.post(
    "/records/{record_id}/items", response_model=ItemRead, status_code=status.HTTP_201_CREATED
)
def add_item(
    record_id: Id, body: ItemCreate, session: SessionDep, now: NowDep, who: ItemManager
) -> ItemRead:
    return ItemRead.model_validate(
        service.add_item(session, record_id=record_id, data=body, actor=who.actor, now=now)
    )


@router.get("/items/{barcode}", response_model=ItemRead)
def get_item(barcode: str, session: SessionDep, who: StaffUser) -> ItemRead:
    return ItemRead.model_validate(service.get_item(session, barcode))


@router.patch("/items/{barcode}", response_model=ItemRead)
def update_item(
    barcode: str, body: ItemUpdate, session: SessionDep, now: NowDep, who: ItemManager
) -> ItemRead:
    return ItemRead.model_validate(
        service.update_item(session, barcode=barcode, data=body, actor=who.actor, now=now)
    )


@router.get("/scan/{code}", response_model=ScanResult)
def scan(code: Annotated[str, Path(max_length=64)], session: SessionDep, who: OptionalPrincipal
         ) -> ScanResult:  # fmt: skip
    """Resolve a scanned item barcode or ISBN to its record."""
    return service.resolve_scan(session, code[:64], published_only=not _staff_view(who))


@router.post(
    "/records/{record_id}/digital",
    response_model=DigitalResourceRead,
    status_code=status.HTTP_201_CREATED,
)
def add_digital_link(
    record_id: Id, body: DigitalResourceCreate, session: SessionDep, now: NowDep, who: Cataloguer
) -> DigitalResourceRead:
    res = service.add_digital(
        session,
        record_id=record_id,
        kind=body.kind,
        label=body.label,
        media_type=body.media_type,
        url=str(body.url),
        size_bytes=body.size_bytes,
        actor=who.actor,
        now=now,
    )
    return DigitalResourceRead.model_validate(res)


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@router.post(
    "/records/{record_id}/digital/upload",
    response_model=DigitalResourceRead,
    status_code=status.HTTP_201_CREATED,
)
def upload_digital(
    record_id: Id,
    kind: Annotated[DigitalKind, Form()],
    label: Annotated[str, Form(min_length=1, max_length=200)],
    file: Annotated[UploadFile, File()],
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    who: Cataloguer,
) -> DigitalResourceRead:
    """Attach a file (an e-book, an audio book, a lecture video) kept under the data directory."""
    service.get_record(session, record_id)
    path, size = store_upload(
        file, settings.data_dir / "digital" / str(record_id), prefix=f"{int(now.timestamp())}-"
    )
    res = service.add_digital(
        session,
        record_id=record_id,
        kind=kind,
        label=label,
        media_type=file.content_type or "application/octet-stream",
        file_name=f"{record_id}/{path.name}",
        size_bytes=size,
        actor=who.actor,
        now=now,
    )
    return DigitalResourceRead.model_validate(res)


def store_upload(file: UploadFile, folder: FilePath, *, prefix: str = "") -> tuple[FilePath, int]:
    """Save an upload under ``folder`` with a safe name; returns the path and the size.

    Raises: UploadTooLarge (nothing is kept).
    """
    folder.mkdir(parents=True, exist_ok=True)
    name = _SAFE_NAME.sub("_", FilePath(file.filename or "upload").name)[-120:] or "upload"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=prefix, suffix="-" + name)
    dest, size = FilePath(tmp), 0
    with open(fd, "wb") as out:
        while chunk := file.file.read(1 << 20):
            size += len(chunk)
            if size > MAX_UPLOAD_MB << 20:
                out.close()
                dest.unlink(missing_ok=True)
                raise UploadTooLarge(MAX_UPLOAD_MB)
            out.write(chunk)
    return dest, size


class StoredFile(FileResponse):
    """A digital resource's file, sent with its own media type (any: the document says so)."""

    media_type = "*/*"


class Download(StreamingResponse):
    media_type = "application/octet-stream"


@router.get("/digital/{resource_id}/file", response_class=StoredFile)
def digital_file(
    resource_id: Id, session: SessionDep, settings: SettingsDep, who: OptionalPrincipal
) -> StoredFile:
    """The stored file of a digital resource of a published record."""
    res = session.get(DigitalResource, resource_id)
    if res is None or res.file_name is None:
        raise DigitalResourceNotFound(resource_id)
    service.get_record(session, res.record_id, published_only=not _staff_view(who))
    path = settings.data_dir / "digital" / res.file_name
    if not path.is_file():
        raise DigitalResourceNotFound(resource_id)
    return StoredFile(path, media_type=res.media_type, filename=path.name.split("-", 1)[-1])


@router.delete("/digital/{resource_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_digital(resource_id: Id, session: SessionDep, now: NowDep, who: Cataloguer) -> None:
    service.remove_digital(session, resource_id=resource_id, actor=who.actor, now=now)


@router.get("/clc")
def clc_top_classes() -> list[dict[str, str]]:
    """The 22 top classes of the Chinese Library Classification."""
    tree = clc.tree()
    return [{"code": c, "name": tree.classes[c].name} for c in tree.tops]


@router.get("/clc/{code}")
def clc_class(
    code: str,
    session: SessionDep,
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
) -> dict[str, object]:
    """A class with its path from the top, its sub-classes and the published records under it."""
    tree = clc.tree()
    klass = tree.get(code)
    books = service.list_records(
        session, status=RecordStatus.PUBLISHED, clc_prefix=klass.code, page=page, size=20
    )
    return {
        "code": klass.code,
        "name": klass.name,
        "path": [{"code": c.code, "name": c.name} for c in tree.path(klass.code)],
        "children": [{"code": c, "name": tree.classes[c].name} for c in klass.children],
        "records": books.model_dump(mode="json"),
    }


# -- import and export -------------------------------------------------------------------------


@router.post("/imports", response_model=ImportJobRead, status_code=status.HTTP_202_ACCEPTED)
def start_import(
    request: Request,
    tasks: BackgroundTasks,
    file: Annotated[UploadFile, File()],
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    who: Cataloguer,
    format: Annotated[str | None, Form()] = None,
    encoding: Annotated[str | None, Form()] = None,
    branch: Annotated[str | None, Form()] = None,
) -> ImportJobRead:
    """Upload a catalogue file; it imports in the background as drafts for review. Poll
    ``GET /imports/{id}`` for the report."""
    return queue_import(
        request, tasks, session, file, settings=settings, now=now, actor=who.actor,
        format=format, encoding=encoding, branch=branch,
    )  # fmt: skip


def queue_import(
    request: Request,
    tasks: BackgroundTasks,
    session: Session,
    file: UploadFile,
    *,
    settings: Settings,
    now: datetime,
    actor: str,
    format: str | None,
    encoding: str | None,
    branch: str | None,
) -> ImportJobRead:
    """Store an uploaded catalogue file, create its import job in this request's transaction,
    and run it after the request commits (the API and the staff page both upload this way).

    Raises: ImportFileUnreadable (unknown format), UnknownEncoding, UploadTooLarge,
    BranchNotFound.
    """
    if format and format not in FORMATS:
        raise ImportFileUnreadable(file.filename or "upload", f"unknown format {format}")
    if encoding:  # refused now, not by the job in the background after a 202
        resolve_encoding(encoding)
    path, _size = store_upload(file, settings.data_dir / "imports")
    app = request.app
    job_id = importer.start_job(
        session, path, actor=actor, now=now, format=format, branch=branch or None
    )

    def run() -> None:
        try:
            importer.run_job(
                app.state.sessionmaker, job_id, path, actor=actor, clock=app.state.clock,
                encoding=encoding,
            )  # fmt: skip
        except Exception:  # the job stays "running" and resumable; the log says why
            log.exception("import %s failed", job_id)

    tasks.add_task(run)
    return ImportJobRead.model_validate(session.get_one(ImportJob, job_id))


@router.get("/imports", response_model=list[ImportJobRead])
def list_imports(session: SessionDep, who: Cataloguer) -> list[ImportJobRead]:
    return importer.recent_jobs(session, limit=50)


@router.get("/imports/{job_id}", response_model=ImportReport)
def import_report(job_id: Id, session: SessionDep, who: Cataloguer) -> ImportReport:
    """How an import went: counts, and each rejected record with its number and reason."""
    return importer.report(session, job_id)


@router.get("/export", response_class=Download)
def export(
    session: SessionDep,
    who: Cataloguer,
    format: Annotated[str, Query(pattern="^(marc21|marcxml|unimarc|csv)$")] = "marc21",
) -> Download:
    """Every published record with its items, as a file in ``format``."""
    import io

    buf = io.BytesIO()
    importer.export_file(session, buf, format=format)
    ext = {"marc21": "mrc", "marcxml": "xml", "unimarc": "uni", "csv": "csv"}[format]
    buf.seek(0)
    return Download(
        buf,
        headers={"Content-Disposition": f'attachment; filename="catalogue.{ext}"'},
    )
