"""Tables of the catalogue: records, their contributors and ISBNs, items, digital resources,
import jobs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from shulian.catalog.types import DigitalKind, ImportStatus, ItemStatus, RecordStatus
from shulian.core.db import Base, UTCDateTime, enum_column


class Record(Base):
    """A bibliographic record (a title), described once and held as any number of items."""

    __tablename__ = "records"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[RecordStatus] = mapped_column(enum_column(RecordStatus), index=True)
    title: Mapped[str] = mapped_column(String(1000))
    other_titles: Mapped[list[str]] = mapped_column(JSON, default=list)
    responsibility: Mapped[str | None] = mapped_column(String(1000))
    publisher: Mapped[str | None] = mapped_column(String(500))
    place: Mapped[str | None] = mapped_column(String(200))
    year: Mapped[int | None] = mapped_column(Integer, index=True)
    edition: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(3))
    subjects: Mapped[list[str]] = mapped_column(JSON, default=list)
    clc: Mapped[str | None] = mapped_column(String(64), index=True)
    call_number: Mapped[str | None] = mapped_column(String(200))
    summary: Mapped[str | None] = mapped_column(Text)
    series: Mapped[str | None] = mapped_column(String(500))
    extent: Mapped[str | None] = mapped_column(String(200))
    format: Mapped[str] = mapped_column(String(20), default="book")
    cover_url: Mapped[str | None] = mapped_column(String(1000))
    source_ids: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # Normalised title + first author + year: how records without a shared ISBN are matched.
    match_key: Mapped[str] = mapped_column(String(64), index=True)
    review_comment: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)


class RecordContributor(Base):
    __tablename__ = "record_contributors"
    __table_args__ = (UniqueConstraint("record_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(500))
    role: Mapped[str] = mapped_column(String(20))
    corporate: Mapped[bool] = mapped_column(Boolean, default=False)


class RecordIsbn(Base):
    """An ISBN of a record, normalised to ISBN-13: the first key duplicates are found by."""

    __tablename__ = "record_isbns"
    __table_args__ = (UniqueConstraint("record_id", "isbn"), Index("ix_record_isbns_isbn", "isbn"))

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"))
    isbn: Mapped[str] = mapped_column(String(13))


class Item(Base):
    """A copy on a shelf: where it lives, where it is now, and whether it can be lent."""

    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), index=True)
    barcode: Mapped[str] = mapped_column(String(64), unique=True)
    epc: Mapped[str | None] = mapped_column(String(64), unique=True)  # RFID tag
    branch_code: Mapped[str] = mapped_column(String(32), index=True)  # home branch
    # Shelf location: 楼层 floor, 排 range, 架 shelf, 层 layer, 位 position.
    floor: Mapped[str | None] = mapped_column(String(20))
    shelf_range: Mapped[str | None] = mapped_column(String(40))
    shelf: Mapped[str | None] = mapped_column(String(40))
    layer: Mapped[int | None] = mapped_column(Integer)
    position: Mapped[int | None] = mapped_column(Integer)
    call_number: Mapped[str | None] = mapped_column(String(200))
    item_type: Mapped[str] = mapped_column(String(32), default="book")
    status: Mapped[ItemStatus] = mapped_column(enum_column(ItemStatus), index=True)
    price_cents: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DigitalResource(Base):
    """An e-book, audio book or video attached to a record: a link, or a file we keep."""

    __tablename__ = "digital_resources"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"), index=True)
    kind: Mapped[DigitalKind] = mapped_column(enum_column(DigitalKind))
    label: Mapped[str] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(String(1000))
    file_name: Mapped[str | None] = mapped_column(String(300))  # under data_dir/digital/
    media_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ImportJob(Base):
    """One import of a file; ``position`` is the last record number committed, so an interrupted
    import resumes after it."""

    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    file_name: Mapped[str] = mapped_column(String(500))
    file_sha256: Mapped[str] = mapped_column(String(64), index=True)
    format: Mapped[str] = mapped_column(String(20))
    status: Mapped[ImportStatus] = mapped_column(enum_column(ImportStatus))
    publish: Mapped[bool] = mapped_column(Boolean, default=False)
    branch_code: Mapped[str | None] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer, default=0)
    imported: Mapped[int] = mapped_column(Integer, default=0)
    merged: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    items_added: Mapped[int] = mapped_column(Integer, default=0)
    actor: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ImportNote(Base):
    """A record the import rejected (with the reason), or took with a warning (ISBN dropped)."""

    __tablename__ = "import_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(
        ForeignKey("import_jobs.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[bool] = mapped_column(Boolean)
    source_id: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
