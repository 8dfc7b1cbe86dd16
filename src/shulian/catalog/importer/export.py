"""Export: records with their items as ``BibData``, written in any of the exchange formats."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from shulian.catalog.bib import BibData, Contributor, Format, ItemData, Role
from shulian.catalog.marc import write_records
from shulian.catalog.models import Item, Record
from shulian.catalog.service import contributors_of, isbns_of
from shulian.catalog.types import ItemStatus, RecordStatus


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
