"""What search indexes: published records with their copies and where they are, and how a full
reindex pages through them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shulian.catalog.models import Item, Record
from shulian.catalog.service.common import LENDABLE_NOW, contributors_of, isbns_of
from shulian.catalog.types import ItemStatus, RecordStatus


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
