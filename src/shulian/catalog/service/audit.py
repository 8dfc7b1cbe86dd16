"""What the ledger audit replays the catalogue's rows against: the state digest of every record
and item as it stands, computed exactly as the events that changed them computed it."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from shulian.catalog.models import Item, Record
from shulian.catalog.service.common import (
    contributors_of,
    isbns_of,
    item_state,
    record_state,
    record_values,
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
            yield r.id, record_state(record_values(r), contributors, isbns.get(r.id, []))
        last = ids[-1]


def audit_item_states(session: Session) -> Iterator[tuple[int, str]]:
    """(id, state digest) of every item row, for the ledger audit's replay."""
    for item in session.scalars(select(Item).order_by(Item.id).execution_options(yield_per=5000)):
        yield item.id, item_state(item)
