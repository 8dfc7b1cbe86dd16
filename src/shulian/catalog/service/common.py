"""What the catalogue operations share: the state digests their events carry (and the ledger
audit replays), the record event, reading a record with its contributors and ISBNs, and how a
shelf location reads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shulian.catalog.errors import RecordNotFound
from shulian.catalog.models import Item, Record, RecordContributor, RecordIsbn
from shulian.catalog.normalize import digest
from shulian.catalog.schemas import ContributorRead
from shulian.catalog.types import ItemStatus, RecordStatus
from shulian.core import events

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


def record_values(record: Record) -> dict[str, Any]:
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


def record_event(
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
                record_values(record), [(c.name, c.role, c.corporate) for c in contributors], isbns
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


def location_text(item: Item) -> str:
    """Where on the shelves: "3F 12排 4架 2层 5位"."""
    return format_location(item.floor, item.shelf_range, item.shelf, item.layer, item.position)


def format_location(
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
