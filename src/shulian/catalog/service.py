"""Operations on the catalogue. Callers own the transaction; nothing here commits.

Cataloguing workflow (every step is an event on the spine)::

    draft --submit--> in_review --approve--> approved --publish--> published --withdraw--> withdrawn
      ^                   |
      +----- returned <---+ (return, with a comment; the cataloguer edits and submits again)

Only published records are visible to readers. Whoever entered a record cannot approve it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shulian.catalog import clc
from shulian.catalog.errors import (
    BarcodeTaken,
    CommentRequired,
    DigitalResourceNotFound,
    EpcTaken,
    InvalidRecord,
    ItemNotFound,
    NothingMatchesScan,
    RecordNotFound,
    SelfReviewRefused,
    StaleRecord,
    WrongRecordStatus,
)
from shulian.catalog.isbn import InvalidIsbn, normalize_isbn
from shulian.catalog.models import (
    DigitalKind,
    DigitalResource,
    Item,
    ItemStatus,
    Record,
    RecordContributor,
    RecordIsbn,
    RecordStatus,
)
from shulian.catalog.normalize import digest, match_key
from shulian.catalog.schemas import (
    ContributorRead,
    DigitalResourceRead,
    Holding,
    ItemCreate,
    ItemUpdate,
    RecordDetail,
    RecordFields,
    RecordPage,
    RecordRead,
    RecordSummary,
    RecordUpdate,
    ScanResult,
)
from shulian.consortium import service as consortium_service
from shulian.core import events

EDITABLE = {RecordStatus.DRAFT, RecordStatus.RETURNED, RecordStatus.PUBLISHED}
LENDABLE_NOW = {ItemStatus.AVAILABLE}


# -- state digests (what the ledger audit replays rows against) ---------------------------------


RECORD_STATE_FIELDS = (
    "status", "title", "other_titles", "responsibility", "publisher", "place", "year", "edition",
    "language", "subjects", "clc", "call_number", "summary", "series", "extent", "format",
    "cover_url", "version",
)  # fmt: skip


def record_state(
    values: dict[str, Any], contributors: Sequence[tuple[str, str, bool]], isbns: Sequence[str]
) -> str:
    """The digest of a record's description as its events carry it (see ``normalize.digest``)."""
    state = {name: values.get(name) for name in RECORD_STATE_FIELDS}
    state["contributors"] = [list(c) for c in contributors]
    state["isbns"] = sorted(isbns)
    return digest(state)


def _record_values(record: Record) -> dict[str, Any]:
    values = {name: getattr(record, name) for name in RECORD_STATE_FIELDS}
    values["status"] = record.status.value
    return values


def item_state(item: Item) -> str:
    return digest(
        {
            "record": item.record_id,
            "barcode": item.barcode,
            "epc": item.epc,
            "branch": item.branch_code,
            "location": [item.floor, item.shelf_range, item.shelf, item.layer, item.position],
            "call_number": item.call_number,
            "item_type": item.item_type,
            "status": item.status.value,
            "price": [item.price_cents, item.currency],
        }
    )


def audit_record_states(session: Session, *, chunk: int = 2000) -> Iterator[tuple[int, str]]:
    """(id, state digest) of every record row, for the ledger audit's replay."""
    last = 0
    while True:
        records = list(
            session.scalars(select(Record).where(Record.id > last).order_by(Record.id).limit(chunk))
        )
        if not records:
            return
        ids = [r.id for r in records]
        people, isbns = contributors_of(session, ids), isbns_of(session, ids)
        for r in records:
            contributors = [(c.name, c.role, c.corporate) for c in people.get(r.id, [])]
            yield r.id, record_state(_record_values(r), contributors, isbns.get(r.id, []))
        last = ids[-1]


def audit_item_states(session: Session) -> Iterator[tuple[int, str]]:
    """(id, state digest) of every item row, for the ledger audit's replay."""
    for item in session.scalars(select(Item).order_by(Item.id).execution_options(yield_per=5000)):
        yield item.id, item_state(item)


def _record_event(
    session: Session, record: Record, *, type: str, actor: str, now: datetime, **extra: Any
) -> None:
    contributors = contributors_of(session, [record.id]).get(record.id, [])
    isbns = isbns_of(session, [record.id]).get(record.id, [])
    events.record(
        session,
        type=type,
        now=now,
        actor=actor,
        subject=f"record:{record.id}",
        payload={
            "status": record.status.value,
            "state": record_state(
                _record_values(record), [(c.name, c.role, c.corporate) for c in contributors], isbns
            ),
            **extra,
        },
    )


# -- reading --------------------------------------------------------------------------------------


def get_record(session: Session, record_id: int, *, published_only: bool = False) -> Record:
    """Raises: RecordNotFound (also for an unpublished record when ``published_only``)."""
    record = session.get(Record, record_id)
    if record is None or (published_only and record.status is not RecordStatus.PUBLISHED):
        raise RecordNotFound(record_id)
    return record


def contributors_of(
    session: Session, record_ids: Sequence[int]
) -> dict[int, list[ContributorRead]]:
    out: dict[int, list[ContributorRead]] = {}
    rows = session.scalars(
        select(RecordContributor)
        .where(RecordContributor.record_id.in_(record_ids))
        .order_by(RecordContributor.record_id, RecordContributor.position)
    )
    for c in rows:
        out.setdefault(c.record_id, []).append(ContributorRead.model_validate(c))
    return out


def isbns_of(session: Session, record_ids: Sequence[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    rows = session.execute(
        select(RecordIsbn.record_id, RecordIsbn.isbn)
        .where(RecordIsbn.record_id.in_(record_ids))
        .order_by(RecordIsbn.id)
    )
    for rid, isbn in rows:
        out.setdefault(rid, []).append(isbn)
    return out


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


def location_text(item: Item) -> str:
    """Where on the shelves: "3F 12排 4架 2层 5位"."""
    return _location(item.floor, item.shelf_range, item.shelf, item.layer, item.position)


def _location(
    floor: str | None,
    shelf_range: str | None,
    shelf: str | None,
    layer: int | None,
    position: int | None,
) -> str:
    parts = [
        floor or "",
        f"{shelf_range}排" if shelf_range else "",
        f"{shelf}架" if shelf else "",
        f"{layer}层" if layer is not None else "",
        f"{position}位" if position is not None else "",
    ]
    return " ".join(p for p in parts if p)


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


def get_item(session: Session, barcode: str) -> Item:
    """Raises: ItemNotFound."""
    item = session.scalars(select(Item).where(Item.barcode == barcode.strip())).first()
    if item is None:
        raise ItemNotFound(barcode)
    return item


def resolve_scan(session: Session, code: str, *, published_only: bool = True) -> ScanResult:
    """What a scanned code is: an item barcode first, then an ISBN (10 or 13, with hyphens).

    Raises: NothingMatchesScan.
    """
    code = code.strip()
    item = session.scalars(select(Item).where(Item.barcode == code)).first()
    if item is not None:
        record = session.get(Record, item.record_id)
        if record is not None and (not published_only or record.status is RecordStatus.PUBLISHED):
            return ScanResult(matched="item", record_id=item.record_id, barcode=item.barcode)
    try:
        isbn = normalize_isbn(code)
    except InvalidIsbn:
        raise NothingMatchesScan(code) from None
    stmt = select(RecordIsbn.record_id).join(Record, Record.id == RecordIsbn.record_id)
    stmt = stmt.where(RecordIsbn.isbn == isbn)
    if published_only:
        stmt = stmt.where(Record.status == RecordStatus.PUBLISHED)
    rid = session.scalars(stmt.order_by(RecordIsbn.record_id)).first()
    if rid is None:
        raise NothingMatchesScan(code)
    return ScanResult(matched="isbn", record_id=rid)


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
    _record_event(session, record, type="catalog.record.created", actor=actor, now=now)
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
    _record_event(session, record, type="catalog.record.updated", actor=actor, now=now)
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
    _record_event(session, record, type=f"catalog.record.{verb}", actor=actor, now=now, **extra)
    return record


# -- items ----------------------------------------------------------------------------------------


def _item_event(session: Session, item: Item, *, type: str, actor: str, now: datetime) -> None:
    events.record(
        session,
        type=type,
        now=now,
        actor=actor,
        branch=item.branch_code,
        subject=f"item:{item.id}",
        payload={"record": item.record_id, "status": item.status.value, "state": item_state(item)},
    )


def add_item(
    session: Session, *, record_id: int, data: ItemCreate, actor: str, now: datetime
) -> Item:
    """Add a copy to a record. Raises: RecordNotFound, BranchNotFound, BarcodeTaken, EpcTaken."""
    get_record(session, record_id)
    branch = consortium_service.get_branch_by_code(session, data.branch)
    if session.scalars(select(Item.id).where(Item.barcode == data.barcode)).first():
        raise BarcodeTaken(data.barcode)
    epc = data.epc.upper() if data.epc else None
    if epc and session.scalars(select(Item.id).where(Item.epc == epc)).first():
        raise EpcTaken(epc)
    item = Item(
        record_id=record_id,
        barcode=data.barcode,
        epc=epc,
        branch_code=branch.code,
        floor=data.floor,
        shelf_range=data.shelf_range,
        shelf=data.shelf,
        layer=data.layer,
        position=data.position,
        call_number=data.call_number,
        item_type=data.item_type,
        status=data.status,
        price_cents=data.price_cents,
        currency=data.currency,
        created_at=now,
        updated_at=now,
    )
    session.add(item)
    session.flush()
    _item_event(session, item, type="catalog.item.added", actor=actor, now=now)
    return item


def update_item(
    session: Session, *, barcode: str, data: ItemUpdate, actor: str, now: datetime
) -> Item:
    """Change an item's location, type, tag or status. Raises: ItemNotFound, EpcTaken,
    BranchNotFound."""
    item = get_item(session, barcode)
    changes = data.model_dump(exclude_unset=True)
    if "branch" in changes:
        item.branch_code = consortium_service.get_branch_by_code(
            session, changes.pop("branch")
        ).code
    if changes.get("epc"):
        epc = changes.pop("epc").upper()
        clash = session.scalars(select(Item.id).where(Item.epc == epc, Item.id != item.id)).first()
        if clash:
            raise EpcTaken(epc)
        item.epc = epc
    for name, value in changes.items():
        setattr(item, name, value)
    item.updated_at = now
    session.flush()
    _item_event(session, item, type="catalog.item.updated", actor=actor, now=now)
    return item


def items_of(session: Session, record_id: int) -> list[Item]:
    return list(
        session.scalars(select(Item).where(Item.record_id == record_id).order_by(Item.barcode))
    )


# -- digital resources ----------------------------------------------------------------------------


def digital_of(session: Session, record_id: int) -> list[DigitalResource]:
    return list(
        session.scalars(
            select(DigitalResource)
            .where(DigitalResource.record_id == record_id)
            .order_by(DigitalResource.id)
        )
    )


def add_digital(
    session: Session,
    *,
    record_id: int,
    kind: DigitalKind,
    label: str,
    media_type: str,
    url: str | None = None,
    file_name: str | None = None,
    size_bytes: int | None = None,
    actor: str,
    now: datetime,
) -> DigitalResource:
    """Attach an e-book, audio book or video: a link (``url``) or a file stored under the data
    directory (``file_name``). Raises: RecordNotFound, InvalidRecord (neither given)."""
    get_record(session, record_id)
    if not url and not file_name:
        raise InvalidRecord("digital resource", "give a link or a file")
    res = DigitalResource(
        record_id=record_id,
        kind=kind,
        label=label,
        url=url,
        file_name=file_name,
        media_type=media_type,
        size_bytes=size_bytes,
        created_at=now,
    )
    session.add(res)
    session.flush()
    events.record(
        session,
        type="catalog.digital.added",
        now=now,
        actor=actor,
        subject=f"record:{record_id}",
        payload={"resource": res.id, "kind": res.kind.value},
    )
    return res


def remove_digital(session: Session, *, resource_id: int, actor: str, now: datetime) -> None:
    """Raises: DigitalResourceNotFound."""
    res = session.get(DigitalResource, resource_id)
    if res is None:
        raise DigitalResourceNotFound(resource_id)
    session.delete(res)
    events.record(
        session,
        type="catalog.digital.removed",
        now=now,
        actor=actor,
        subject=f"record:{res.record_id}",
        payload={"resource": resource_id},
    )


# -- for circulation ------------------------------------------------------------------------------


def lock_item(session: Session, barcode: str) -> Item:
    """The item, locked for the rest of the transaction (``FOR UPDATE`` on PostgreSQL; SQLite's
    writer lock already serialises), so two desks cannot lend one copy at once.

    Raises: ItemNotFound."""
    item = session.scalars(
        select(Item).where(Item.barcode == barcode.strip()).with_for_update()
    ).first()
    if item is None:
        raise ItemNotFound(barcode)
    return item


def set_item_status(session: Session, item: Item, status: ItemStatus, *, now: datetime) -> str:
    """Move an item to ``status`` for circulation; returns its new state digest, which the
    caller's event carries (the circulation event stands for the item change)."""
    item.status = status
    item.updated_at = now
    session.flush()
    return item_state(item)


def items_by_id(session: Session, item_ids: Iterable[int]) -> dict[int, Item]:
    ids = sorted(set(item_ids))
    out: dict[int, Item] = {}
    for i in range(0, len(ids), 900):
        for it in session.scalars(select(Item).where(Item.id.in_(ids[i : i + 900]))):
            out[it.id] = it
    return out


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


@dataclass(frozen=True)
class CopyRow:
    item_id: int
    record_id: int
    barcode: str
    branch_code: str
    call_number: str | None
    shelf: tuple[str | None, str | None, str | None, int | None, int | None]

    @property
    def location(self) -> str:
        return _location(*self.shelf)


_SCAN_ABOVE = 5000  # asking for more records than this, one pass over the items is quicker


def copies_in_status(
    session: Session, record_ids: Sequence[int], *, status: ItemStatus = ItemStatus.AVAILABLE
) -> list[CopyRow]:
    """The copies of these records in ``status`` (for pick lists and hold trapping)."""
    ids = sorted(set(record_ids))
    cols = (
        Item.id, Item.record_id, Item.barcode, Item.branch_code, Item.call_number, Item.floor,
        Item.shelf_range, Item.shelf, Item.layer, Item.position,
    )  # fmt: skip
    if len(ids) > _SCAN_ABOVE:
        # One pass over the copies in ``status`` on the driver's cursor (a million rows in a
        # second or two), keeping those of the wanted records.
        wanted = set(ids)
        table = Item.__table__
        stmt = select(*cols).where(table.c.status == status.value)
        compiled = stmt.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(str(compiled))
        found: list[CopyRow] = []
        while batch := cursor.fetchmany(20_000):
            found.extend(
                CopyRow(r[0], r[1], r[2], r[3], r[4], (r[5], r[6], r[7], r[8], r[9]))
                for r in batch
                if r[1] in wanted
            )
        cursor.close()
        return found
    out: list[CopyRow] = []
    for i in range(0, len(ids), 900):
        chunk = session.execute(
            select(*cols).where(Item.record_id.in_(ids[i : i + 900]), Item.status == status)
        )
        out.extend(
            CopyRow(r[0], r[1], r[2], r[3], r[4], (r[5], r[6], r[7], r[8], r[9])) for r in chunk
        )
    return out


def lendable_count(session: Session, record_id: int) -> int:
    """Copies of a record that are not withdrawn, missing or still in processing."""
    return (
        session.scalar(
            select(func.count(Item.id)).where(
                Item.record_id == record_id,
                Item.status.notin_(
                    [ItemStatus.WITHDRAWN, ItemStatus.MISSING, ItemStatus.PROCESSING]
                ),
            )
        )
        or 0
    )


# -- what search indexes ---------------------------------------------------------------------------


@dataclass(slots=True)
class IndexRow:
    """A published record as search needs it: description plus where copies are now."""

    record: Record
    authors: list[str]
    isbns: list[str]
    branches: list[str] = field(default_factory=list)
    available_branches: list[str] = field(default_factory=list)
    copies: int = 0  # not withdrawn
    available: int = 0  # on the shelf now


def index_rows(session: Session, record_ids: Sequence[int]) -> tuple[list[IndexRow], list[int]]:
    """The published records among ``record_ids`` for indexing, and the ids that are not
    (withdrawn, unpublished or deleted) and must leave the index."""
    records = list(
        session.scalars(
            select(Record).where(Record.id.in_(record_ids), Record.status == RecordStatus.PUBLISHED)
        )
    )
    found = {r.id for r in records}
    gone = [rid for rid in record_ids if rid not in found]
    ids = [r.id for r in records]
    people = contributors_of(session, ids)
    isbns = isbns_of(session, ids)
    rows = {
        r.id: IndexRow(
            record=r,
            authors=[c.name for c in people.get(r.id, [])],
            isbns=isbns.get(r.id, []),
        )
        for r in records
    }
    for rid, branch, status in session.execute(
        select(Item.record_id, Item.branch_code, Item.status).where(
            Item.record_id.in_(ids), Item.status != ItemStatus.WITHDRAWN
        )
    ):
        row = rows[rid]
        row.copies += 1
        if branch not in row.branches:
            row.branches.append(branch)
        if status in LENDABLE_NOW:
            row.available += 1
            if branch not in row.available_branches:
                row.available_branches.append(branch)
    return list(rows.values()), gone


def published_ids(session: Session, *, after: int = 0, limit: int = 1000) -> list[int]:
    """Ids of published records after ``after``, in order: how a full reindex pages through."""
    return list(
        session.scalars(
            select(Record.id)
            .where(Record.id > after, Record.status == RecordStatus.PUBLISHED)
            .order_by(Record.id)
            .limit(limit)
        )
    )


def count_published(session: Session) -> int:
    stmt = select(func.count(Record.id)).where(Record.status == RecordStatus.PUBLISHED)
    return session.scalar(stmt) or 0
