"""Digital resources: e-books, audio books and videos attached to a record, as a link or a file."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shulian.catalog.errors import DigitalResourceNotFound, InvalidRecord
from shulian.catalog.models import DigitalResource
from shulian.catalog.service.common import get_record
from shulian.catalog.types import DigitalKind
from shulian.core import events


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
