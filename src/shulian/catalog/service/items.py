"""Items (copies): finding one by barcode or by a scanned code, adding and changing them, and
what circulation reads and moves (a locked item, its status, copies on the shelf)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shulian.catalog.errors import BarcodeTaken, EpcTaken, ItemNotFound, NothingMatchesScan
from shulian.catalog.isbn import InvalidIsbn, normalize_isbn
from shulian.catalog.models import Item, Record, RecordIsbn
from shulian.catalog.schemas import ItemCreate, ItemUpdate, ScanResult
from shulian.catalog.service.common import format_location, get_record, item_state
from shulian.catalog.types import ItemStatus, RecordStatus
from shulian.consortium import service as consortium_service
from shulian.core import events

# -- reading --------------------------------------------------------------------------------------


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
    """Change an item's location, type, tag or status (a field left unset, or set to None where
    the item must have a value, keeps its value). Raises: ItemNotFound, EpcTaken,
    BranchNotFound."""
    item = get_item(session, barcode)
    changes = data.model_dump(exclude_unset=True)
    for required in ("branch", "item_type", "status"):
        if changes.get(required, "") is None:
            del changes[required]
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
        return format_location(*self.shelf)


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
