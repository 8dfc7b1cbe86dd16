"""Records: entering and editing them, the cataloguing workflow, and reading them (a page of
records, the record page with its holdings). Callers own the transaction; nothing here commits.

Cataloguing workflow (every step is an event on the spine)::

    draft --submit--> in_review --approve--> approved --publish--> published --withdraw--> withdrawn
      ^                   |
      +----- returned <---+ (return, with a comment; the cataloguer edits and submits again)

Only published records are visible to readers. Whoever entered a record cannot approve it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shulian.catalog import clc
from shulian.catalog.errors import (
    CommentRequired,
    InvalidRecord,
    SelfReviewRefused,
    StaleRecord,
    WrongRecordStatus,
)
from shulian.catalog.isbn import InvalidIsbn, normalize_isbn
from shulian.catalog.models import Item, Record, RecordContributor, RecordIsbn
from shulian.catalog.normalize import match_key
from shulian.catalog.schemas import (
    DigitalResourceRead,
    Holding,
    RecordDetail,
    RecordFields,
    RecordPage,
    RecordRead,
    RecordSummary,
    RecordUpdate,
)
from shulian.catalog.service.common import (
    LENDABLE_NOW,
    contributors_of,
    get_record,
    isbns_of,
    location_text,
    record_event,
)
from shulian.catalog.service.digital import digital_of
from shulian.catalog.types import ItemStatus, RecordStatus
from shulian.consortium import service as consortium_service

EDITABLE = {RecordStatus.DRAFT, RecordStatus.RETURNED, RecordStatus.PUBLISHED}


# -- reading --------------------------------------------------------------------------------------


def record_read(session: Session, record: Record) -> RecordRead:
    data = {c: getattr(record, c) for c in RecordRead.model_fields if hasattr(record, c)}
    data["contributors"] = contributors_of(session, [record.id]).get(record.id, [])
    data["isbns"] = isbns_of(session, [record.id]).get(record.id, [])
    return RecordRead.model_validate(data)


def summaries(session: Session, records: Sequence[Record]) -> list[RecordSummary]:
    people = contributors_of(session, [r.id for r in records])
    return [
        RecordSummary(
            id=r.id,
            status=r.status,
            title=r.title,
            authors=[c.name for c in people.get(r.id, [])],
            year=r.year,
            publisher=r.publisher,
            clc=r.clc,
            format=r.format,
            cover_url=r.cover_url,
            updated_at=r.updated_at,
        )
        for r in records
    ]


def list_records(
    session: Session,
    *,
    status: RecordStatus | None = None,
    clc_prefix: str | None = None,
    page: int = 1,
    size: int = 20,
) -> RecordPage:
    """Records, newest change first; ``clc_prefix`` keeps those filed under a CLC class."""
    page, size = max(page, 1), min(max(size, 1), 100)
    stmt = select(Record)
    if status is not None:
        stmt = stmt.where(Record.status == status)
    if clc_prefix:
        stmt = stmt.where(Record.clc.startswith(clc.normalize_clc(clc_prefix), autoescape=True))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(Record.updated_at.desc(), Record.id.desc())
        .offset((page - 1) * size)
        .limit(size)
    ).all()
    return RecordPage(items=summaries(session, rows), total=total, page=page, size=size)


def holdings(session: Session, record_id: int) -> list[Holding]:
    branches = {b.code: b for b in consortium_service.list_branches(session, include_inactive=True)}
    items = session.scalars(
        select(Item)
        .where(Item.record_id == record_id, Item.status != ItemStatus.WITHDRAWN)
        .order_by(Item.branch_code, Item.barcode)
    )
    out = []
    for it in items:
        b = branches.get(it.branch_code)
        out.append(
            Holding(
                barcode=it.barcode,
                branch_code=it.branch_code,
                branch_name_zh=b.name_zh if b else it.branch_code,
                branch_name_en=b.name_en if b else it.branch_code,
                location=location_text(it),
                call_number=it.call_number,
                status=it.status,
                available=it.status in LENDABLE_NOW,
            )
        )
    return out


def record_detail(session: Session, record_id: int, *, published_only: bool) -> RecordDetail:
    """The record page: description, holdings in every branch, digital versions, CLC path.

    Raises: RecordNotFound.
    """
    record = get_record(session, record_id, published_only=published_only)
    held = holdings(session, record_id)
    klass = clc.tree().class_of(record.clc)
    path = [(c.code, c.name) for c in clc.tree().path(klass.code)] if klass else []
    return RecordDetail(
        record=record_read(session, record),
        holdings=held,
        digital=[DigitalResourceRead.model_validate(d) for d in digital_of(session, record_id)],
        clc_path=path,
        available_count=sum(h.available for h in held),
    )


# -- writing records -------------------------------------------------------------------------------


def clean_isbns(values: Iterable[str]) -> list[str]:
    """Each ISBN normalised to ISBN-13, duplicates dropped. Raises: InvalidRecord."""
    out: list[str] = []
    for raw in values:
        try:
            isbn = normalize_isbn(raw)
        except InvalidIsbn as exc:
            raise InvalidRecord("isbn", exc.detail) from None
        if isbn not in out:
            out.append(isbn)
    return out


def _apply(session: Session, record: Record, data: RecordFields, isbns: list[str]) -> None:
    for name in (
        "title", "other_titles", "responsibility", "publisher", "place", "year", "edition",
        "language", "subjects", "call_number", "summary", "series", "extent", "source_ids",
    ):  # fmt: skip
        setattr(record, name, getattr(data, name))
    record.clc = data.clc.strip().upper() if data.clc else None
    record.format = data.format.value
    record.cover_url = str(data.cover_url) if data.cover_url else None
    first = data.contributors[0].name if data.contributors else None
    record.match_key = match_key(data.title, first, data.year)
    session.flush()
    for old in session.scalars(
        select(RecordContributor).where(RecordContributor.record_id == record.id)
    ):
        session.delete(old)
    for old_isbn in session.scalars(select(RecordIsbn).where(RecordIsbn.record_id == record.id)):
        session.delete(old_isbn)
    session.flush()
    for pos, c in enumerate(data.contributors):
        session.add(
            RecordContributor(
                record_id=record.id,
                position=pos,
                name=c.name.strip(),
                role=c.role.value,
                corporate=c.corporate,
            )
        )
    for isbn in isbns:
        session.add(RecordIsbn(record_id=record.id, isbn=isbn))
    session.flush()


def create_record(session: Session, *, data: RecordFields, actor: str, now: datetime) -> Record:
    """Enter a record as a draft. Raises: InvalidRecord (a bad ISBN names itself)."""
    isbns = clean_isbns(data.isbns)
    record = Record(
        status=RecordStatus.DRAFT,
        title=data.title,
        match_key="",
        created_by=actor,
        created_at=now,
        updated_at=now,
        version=1,
    )
    session.add(record)
    session.flush()
    _apply(session, record, data, isbns)
    record_event(session, record, type="catalog.record.created", actor=actor, now=now)
    return record


def update_record(
    session: Session, *, record_id: int, data: RecordUpdate, actor: str, now: datetime
) -> Record:
    """Replace a record's description.

    Drafts, returned records and published records (corrections) can be edited; a record in
    review or approved is frozen until the decision. Raises: RecordNotFound, StaleRecord,
    WrongRecordStatus, InvalidRecord.
    """
    record = get_record(session, record_id)
    if record.version != data.version:
        raise StaleRecord(record_id, record.version)
    if record.status not in EDITABLE:
        raise WrongRecordStatus(record_id, record.status.value, "edited")
    isbns = clean_isbns(data.isbns)
    _apply(session, record, data, isbns)
    record.version += 1
    record.updated_at = now
    record_event(session, record, type="catalog.record.updated", actor=actor, now=now)
    return record


_TRANSITIONS: dict[str, tuple[set[RecordStatus], RecordStatus, str]] = {
    "submit": ({RecordStatus.DRAFT, RecordStatus.RETURNED}, RecordStatus.IN_REVIEW, "submitted"),
    "approve": ({RecordStatus.IN_REVIEW}, RecordStatus.APPROVED, "approved"),
    "return": ({RecordStatus.IN_REVIEW}, RecordStatus.RETURNED, "returned"),
    "publish": ({RecordStatus.APPROVED}, RecordStatus.PUBLISHED, "published"),
    "withdraw": ({RecordStatus.PUBLISHED}, RecordStatus.WITHDRAWN, "withdrawn"),
}


def transition(
    session: Session,
    *,
    record_id: int,
    action: str,
    actor: str,
    now: datetime,
    comment: str = "",
) -> Record:
    """Move a record one step in the workflow (submit, approve, return, publish, withdraw).

    Raises: RecordNotFound, WrongRecordStatus, SelfReviewRefused (approving one's own record),
    CommentRequired (returning without saying why).
    """
    sources, target, verb = _TRANSITIONS[action]
    record = get_record(session, record_id)
    if record.status not in sources:
        raise WrongRecordStatus(record_id, record.status.value, verb)
    if action == "approve" and record.created_by == actor:
        raise SelfReviewRefused(record_id)
    if action == "return":
        if not comment.strip():
            raise CommentRequired()
        record.review_comment = comment.strip()
    elif action == "approve":
        record.review_comment = comment.strip() or None
    record.status = target
    record.updated_at = now
    if target is RecordStatus.PUBLISHED:
        record.published_at = now
    extra = {"comment": comment.strip()} if comment.strip() else {}
    record_event(session, record, type=f"catalog.record.{verb}", actor=actor, now=now, **extra)
    return record


# -- for circulation ------------------------------------------------------------------------------


def titles_of(session: Session, record_ids: Iterable[int]) -> dict[int, str]:
    ids = sorted(set(record_ids))
    out: dict[int, str] = {}
    for i in range(0, len(ids), 900):
        rows = session.execute(
            select(Record.id, Record.title).where(Record.id.in_(ids[i : i + 900]))
        )
        out.update({rid: title for rid, title in rows})
    return out


def title_of(session: Session, record_id: int) -> str:
    return titles_of(session, [record_id]).get(record_id, "")
