"""Cataloguing pages for staff: the review queue, the record editor, items, imports.

Each route carries the permission of the service operation it calls (as the JSON API does):
entering and editing need ``catalog.record.create``, deciding ``catalog.record.review``,
publishing ``catalog.record.publish``, items ``catalog.item.manage``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from shulian.catalog import api as catalog_api, importer, service as catalog_service
from shulian.catalog.marc import FORMATS
from shulian.catalog.schemas import (
    ItemCreate,
    ItemRead,
    ItemStatus,
    ItemUpdate,
    RecordCreate,
    RecordStatus,
    RecordUpdate,
)
from shulian.consortium import service as consortium_service
from shulian.core.bounds import Id, Page
from shulian.core.deps import NowDep, SessionDep, SettingsDep, StaffUser, require
from shulian.core.errors import ShulianError
from shulian.core.security import Principal
from shulian.web.catalog import views as catalog_views
from shulian.web.forms import error_text, safe_next
from shulian.web.render import render

router = APIRouter(include_in_schema=False)
Cataloguer = Annotated[Principal, require("catalog.record.create")]
Reviewer = Annotated[Principal, require("catalog.record.review")]
Publisher = Annotated[Principal, require("catalog.record.publish")]
ItemManager = Annotated[Principal, require("catalog.item.manage")]
TABS = [
    RecordStatus.IN_REVIEW,
    RecordStatus.DRAFT,
    RecordStatus.RETURNED,
    RecordStatus.APPROVED,
    RecordStatus.PUBLISHED,
]
IMPORT_FORMATS = ("auto", *FORMATS)


class RecordForm(BaseModel):
    """The editor's text boxes, as typed (``catalog_views.form_to_record`` reads them)."""

    title: str = ""
    other_titles: str = ""
    responsibility: str = ""
    contributors: str = ""
    publisher: str = ""
    place: str = ""
    year: str = ""
    edition: str = ""
    isbns: str = ""
    language: str = ""
    subjects: str = ""
    clc: str = ""
    call_number: str = ""
    summary: str = ""
    series: str = ""
    extent: str = ""
    format: str = "book"
    cover_url: str = ""
    source_ids: str = ""
    version: str = ""


class ItemForm(BaseModel):
    barcode: str = ""
    branch: str = ""
    floor: str = ""
    shelf_range: str = ""
    shelf: str = ""
    layer: str = ""
    position: str = ""
    call_number: str = ""
    item_type: str = ""
    status: str = ""
    price: str = ""
    epc: str = ""


@router.get("/staff/catalog", response_class=HTMLResponse)
def queue(
    request: Request,
    session: SessionDep,
    staff: StaffUser,
    status: RecordStatus = RecordStatus.IN_REVIEW,
    page: Page = 1,
) -> Response:
    """The records at one step of the workflow (in review first), with the buttons for the next."""
    result = catalog_service.list_records(session, status=status, page=max(page, 1), size=20)
    return render(
        request, "catalog/staff/queue.html", {"status": status, "tabs": TABS, "result": result}
    )


# -- the record editor -----------------------------------------------------------------------------


def _editor(
    request: Request,
    *,
    form: dict[str, str],
    record_id: int | None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    ctx = {"form": form, "record_id": record_id, "errors": errors or {}, "error": error}
    return render(request, "catalog/staff/record_form.html", ctx, status_code=status_code)


def _save_failed(
    request: Request, session: Session, exc: Exception, form: RecordForm, record_id: int | None
) -> Response:
    session.rollback()
    if isinstance(exc, ValidationError):
        errors = catalog_views.field_errors(exc)
        return _editor(
            request, form=form.model_dump(), record_id=record_id, errors=errors, status_code=422
        )
    status = exc.status_code if isinstance(exc, ShulianError) else 400
    return _editor(
        request,
        form=form.model_dump(),
        record_id=record_id,
        error=error_text(exc),
        status_code=status,
    )


@router.get("/staff/catalog/new", response_class=HTMLResponse)
def new_record_form(request: Request, staff: Cataloguer) -> Response:
    return _editor(request, form=RecordForm().model_dump(), record_id=None)


@router.post("/staff/catalog/new", response_class=HTMLResponse)
def new_record(
    request: Request,
    session: SessionDep,
    now: NowDep,
    staff: Cataloguer,
    form: Annotated[RecordForm, Form()],
) -> Response:
    try:
        data = RecordCreate.model_validate(catalog_views.form_to_record(form.model_dump()))
        record = catalog_service.create_record(session, data=data, actor=staff.actor, now=now)
    except (ShulianError, ValidationError) as exc:
        return _save_failed(request, session, exc, form, None)
    return RedirectResponse(f"/staff/catalog/{record.id}", status_code=303)


@router.get("/staff/catalog/imports", response_class=HTMLResponse)
def imports_page(request: Request, session: SessionDep, staff: Cataloguer) -> Response:
    return _imports(request, session)


def _imports(
    request: Request, session: Session, *, error: str | None = None, status_code: int = 200
) -> Response:
    ctx = {
        "jobs": importer.recent_jobs(session),
        "formats": IMPORT_FORMATS,
        "branches": consortium_service.list_branches(session),
        "error": error,
    }
    return render(request, "catalog/staff/imports.html", ctx, status_code=status_code)


@router.post("/staff/catalog/imports", response_class=HTMLResponse)
def upload_import(
    request: Request,
    tasks: BackgroundTasks,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    staff: Cataloguer,
    file: Annotated[UploadFile, File()],
    format: Annotated[str, Form()] = "auto",
    encoding: Annotated[str, Form()] = "",
    branch: Annotated[str, Form()] = "",
) -> Response:
    """Store the upload and import it in the background (as the JSON API does); the report
    page follows the job."""
    try:
        job = catalog_api.queue_import(
            request, tasks, session, file, settings=settings, now=now, actor=staff.actor,
            format=None if format == "auto" else format,
            encoding=encoding.strip() or None,
            branch=branch or None,
        )  # fmt: skip
    except ShulianError as exc:
        session.rollback()
        return _imports(request, session, error=error_text(exc), status_code=exc.status_code)
    return RedirectResponse(f"/staff/catalog/imports/{job.id}", status_code=303)


@router.get("/staff/catalog/imports/{job_id}", response_class=HTMLResponse)
def import_report(job_id: Id, request: Request, session: SessionDep, staff: Cataloguer) -> Response:
    """Counts and rejected records; while the job runs, the page refreshes itself (htmx)."""
    report = importer.report(session, job_id)
    return render(request, "catalog/staff/import.html", {"report": report, "job": report.job})


# -- one record --------------------------------------------------------------------------------


def _record_page(
    request: Request,
    session: Session,
    record_id: int,
    *,
    error: str | None = None,
    item_form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    detail = catalog_service.record_detail(session, record_id, published_only=False)
    ctx: dict[str, Any] = {
        "d": detail,
        "r": detail.record,
        "items": [ItemRead.model_validate(i) for i in catalog_service.items_of(session, record_id)],
        "branches": consortium_service.list_branches(session),
        "item_statuses": [s.value for s in ItemStatus],
        "error": error,
        "item_form": item_form or {},
    }
    return render(request, "catalog/staff/record.html", ctx, status_code=status_code)


@router.get("/staff/catalog/{record_id}", response_class=HTMLResponse)
def staff_record(
    record_id: Id, request: Request, session: SessionDep, staff: StaffUser
) -> Response:
    return _record_page(request, session, record_id)


@router.get("/staff/catalog/{record_id}/edit", response_class=HTMLResponse)
def edit_record_form(
    record_id: Id, request: Request, session: SessionDep, staff: Cataloguer
) -> Response:
    record = catalog_service.record_read(session, catalog_service.get_record(session, record_id))
    return _editor(request, form=catalog_views.record_to_form(record), record_id=record_id)


@router.post("/staff/catalog/{record_id}/edit", response_class=HTMLResponse)
def edit_record(
    record_id: Id,
    request: Request,
    session: SessionDep,
    now: NowDep,
    staff: Cataloguer,
    form: Annotated[RecordForm, Form()],
) -> Response:
    try:
        data = RecordUpdate.model_validate(catalog_views.form_to_record(form.model_dump()))
        catalog_service.update_record(
            session, record_id=record_id, data=data, actor=staff.actor, now=now
        )
    except (ShulianError, ValidationError) as exc:
        return _save_failed(request, session, exc, form, record_id)
    return RedirectResponse(f"/staff/catalog/{record_id}", status_code=303)


def _step(
    request: Request,
    session: Session,
    record_id: int,
    action: str,
    who: Principal,
    now: NowDep,
    comment: str,
    next_: str,
) -> Response:
    try:
        catalog_service.transition(
            session, record_id=record_id, action=action, actor=who.actor, now=now, comment=comment
        )
    except ShulianError as exc:
        session.rollback()
        return _record_page(
            request, session, record_id, error=error_text(exc), status_code=exc.status_code
        )
    return RedirectResponse(safe_next(next_, f"/staff/catalog/{record_id}"), status_code=303)


Comment = Annotated[str, Form(max_length=2000)]
Next = Annotated[str, Form()]


@router.post("/staff/catalog/{record_id}/submit", response_class=HTMLResponse)
def submit(record_id: Id, request: Request, session: SessionDep, now: NowDep,
           who: Cataloguer, next: Next = "") -> Response:  # fmt: skip
    return _step(request, session, record_id, "submit", who, now, "", next)


@router.post("/staff/catalog/{record_id}/approve", response_class=HTMLResponse)
def approve(record_id: Id, request: Request, session: SessionDep, now: NowDep,
            who: Reviewer, comment: Comment = "", next: Next = "") -> Response:  # fmt: skip
    return _step(request, session, record_id, "approve", who, now, comment, next)


@router.post("/staff/catalog/{record_id}/return", response_class=HTMLResponse)
def return_record(record_id: Id, request: Request, session: SessionDep, now: NowDep,
                  who: Reviewer, comment: Comment = "", next: Next = "") -> Response:  # fmt: skip
    return _step(request, session, record_id, "return", who, now, comment, next)


@router.post("/staff/catalog/{record_id}/publish", response_class=HTMLResponse)
def publish(record_id: Id, request: Request, session: SessionDep, now: NowDep,
            who: Publisher, next: Next = "") -> Response:  # fmt: skip
    return _step(request, session, record_id, "publish", who, now, "", next)


@router.post("/staff/catalog/{record_id}/withdraw", response_class=HTMLResponse)
def withdraw(record_id: Id, request: Request, session: SessionDep, now: NowDep,
             who: Publisher, next: Next = "") -> Response:  # fmt: skip
    return _step(request, session, record_id, "withdraw", who, now, "", next)


# -- items -----------------------------------------------------------------------------------------


@router.post("/staff/catalog/{record_id}/items", response_class=HTMLResponse)
def add_item(
    record_id: Id,
    request: Request,
    session: SessionDep,
    now: NowDep,
    staff: ItemManager,
    form: Annotated[ItemForm, Form()],
) -> Response:
    try:
        data = ItemCreate.model_validate(catalog_views.form_to_item(form.model_dump()))
        catalog_service.add_item(
            session, record_id=record_id, data=data, actor=staff.actor, now=now
        )
    except (ShulianError, ValidationError) as exc:
        session.rollback()
        status = exc.status_code if isinstance(exc, ShulianError) else 422
        return _record_page(
            request,
            session,
            record_id,
            error=error_text(exc),
            item_form=form.model_dump(),
            status_code=status,
        )
    return RedirectResponse(f"/staff/catalog/{record_id}#items", status_code=303)


@router.post("/staff/items/{barcode}", response_class=HTMLResponse)
def update_item(
    barcode: str,
    request: Request,
    session: SessionDep,
    now: NowDep,
    staff: ItemManager,
    form: Annotated[ItemForm, Form()],
) -> Response:
    """Change an item's status and shelf location (the row's small form)."""
    item = catalog_service.get_item(session, barcode)
    record_id = item.record_id
    try:
        data = ItemUpdate.model_validate(catalog_views.form_to_item(form.model_dump()))
        catalog_service.update_item(session, barcode=barcode, data=data, actor=staff.actor, now=now)
    except (ShulianError, ValidationError) as exc:
        session.rollback()
        status = exc.status_code if isinstance(exc, ShulianError) else 422
        return _record_page(request, session, record_id, error=error_text(exc), status_code=status)
    return RedirectResponse(f"/staff/catalog/{record_id}#items", status_code=303)
