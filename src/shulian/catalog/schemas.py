"""Shapes of records, items and digital resources on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    UrlConstraints,
    field_validator,
)

from shulian.catalog.bib import Format, Role
from shulian.catalog.types import (
    DigitalKind as DigitalKind,
    ImportStatus as ImportStatus,
    ItemStatus as ItemStatus,
    RecordStatus as RecordStatus,
)
from shulian.core.bounds import Cents, Count

MAX_URL = 1000  # the columns' length


def _fits_its_column(url: HttpUrl) -> HttpUrl:
    # Normalising can lengthen an address (a trailing "/", a host in punycode).
    if len(str(url)) > MAX_URL:
        raise ValueError(f"at most {MAX_URL} characters")
    return url


#: An http(s) address short enough for its column (PostgreSQL refuses a longer one).
WebAddress = Annotated[
    HttpUrl, UrlConstraints(max_length=MAX_URL), AfterValidator(_fits_its_column)
]


class ContributorIn(BaseModel):
    name: str = Field(min_length=1, max_length=500)
    role: Role = Role.AUTHOR
    corporate: bool = False

    @field_validator("name")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        # Stored stripped: a name of blanks (control separators included) would be stored empty.
        if not v.strip():
            raise ValueError("a contributor needs a name")
        return v


class ContributorRead(ContributorIn):
    model_config = ConfigDict(from_attributes=True)


class RecordFields(BaseModel):
    """What a cataloguer describes. ISBNs are checked and stored as ISBN-13."""

    title: str = Field(min_length=1, max_length=1000)
    other_titles: list[str] = Field(default_factory=list, max_length=50)
    responsibility: str | None = Field(default=None, max_length=1000)
    contributors: list[ContributorIn] = Field(default_factory=list, max_length=100)
    publisher: str | None = Field(default=None, max_length=500)
    place: str | None = Field(default=None, max_length=200)
    year: int | None = Field(default=None, ge=0, le=2100)
    edition: str | None = Field(default=None, max_length=200)
    isbns: list[str] = Field(default_factory=list, max_length=20)
    language: str | None = Field(default=None, pattern=r"^[a-z]{3}$")
    subjects: list[str] = Field(default_factory=list, max_length=100)
    clc: str | None = Field(default=None, max_length=64)
    call_number: str | None = Field(default=None, max_length=200)
    summary: str | None = Field(default=None, max_length=20000)
    series: str | None = Field(default=None, max_length=500)
    extent: str | None = Field(default=None, max_length=200)
    format: Format = Format.BOOK
    cover_url: WebAddress | None = None
    source_ids: dict[str, str] = Field(default_factory=dict)

    @field_validator("title")
    @classmethod
    def _title(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("a record needs a title")
        return v


class RecordCreate(RecordFields):
    pass


class RecordUpdate(RecordFields):
    """A full replacement of the description; ``version`` must be the one the editor loaded."""

    version: Count


class RecordRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    status: RecordStatus
    title: str
    other_titles: list[str]
    responsibility: str | None
    contributors: list[ContributorRead]
    publisher: str | None
    place: str | None
    year: int | None
    edition: str | None
    isbns: list[str]
    language: str | None
    subjects: list[str]
    clc: str | None
    call_number: str | None
    summary: str | None
    series: str | None
    extent: str | None
    format: str
    cover_url: str | None
    source_ids: dict[str, str]
    review_comment: str | None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    version: int


class RecordSummary(BaseModel):
    """A line in a list of records."""

    id: int
    status: RecordStatus
    title: str
    authors: list[str]
    year: int | None
    publisher: str | None
    clc: str | None
    format: str
    cover_url: str | None
    updated_at: datetime


class RecordPage(BaseModel):
    items: list[RecordSummary]
    total: int
    page: int
    size: int


class ReviewDecision(BaseModel):
    comment: str = Field(default="", max_length=2000)


class Location(BaseModel):
    floor: str | None = Field(default=None, max_length=20)
    shelf_range: str | None = Field(default=None, max_length=40)
    shelf: str | None = Field(default=None, max_length=40)
    layer: int | None = Field(default=None, ge=0, le=100)
    position: int | None = Field(default=None, ge=0, le=10000)


class ItemCreate(Location):
    barcode: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    epc: str | None = Field(default=None, max_length=64, pattern=r"^[0-9A-Fa-f]+$")
    branch: str = Field(description="Code of the item's home branch")
    call_number: str | None = Field(default=None, max_length=200)
    item_type: str = Field(default="book", max_length=32)
    status: ItemStatus = ItemStatus.AVAILABLE
    price_cents: Cents | None = None
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")


class ItemUpdate(Location):
    epc: str | None = Field(default=None, max_length=64, pattern=r"^[0-9A-Fa-f]+$")
    branch: str | None = None
    call_number: str | None = Field(default=None, max_length=200)
    item_type: str | None = Field(default=None, max_length=32)
    status: ItemStatus | None = None
    price_cents: Cents | None = None


class ItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    record_id: int
    barcode: str
    epc: str | None
    branch_code: str
    floor: str | None
    shelf_range: str | None
    shelf: str | None
    layer: int | None
    position: int | None
    call_number: str | None
    item_type: str
    status: ItemStatus
    price_cents: int | None
    currency: str


class Holding(BaseModel):
    """An item as a reader sees it: where, on which shelf, and whether it is there now."""

    barcode: str
    branch_code: str
    branch_name_zh: str
    branch_name_en: str
    location: str  # "3F 12排 4架 2层" / "3F range 12, shelf 4, layer 2"
    call_number: str | None
    status: ItemStatus
    available: bool


class DigitalResourceCreate(BaseModel):
    kind: DigitalKind
    label: str = Field(min_length=1, max_length=200)
    url: WebAddress
    media_type: str = Field(default="text/html", max_length=100)
    size_bytes: Count | None = None


class DigitalResourceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    record_id: int
    kind: DigitalKind
    label: str
    url: str | None
    file_name: str | None
    media_type: str
    size_bytes: int | None


class RecordDetail(BaseModel):
    """Everything about a record for its page: the description, holdings, digital versions."""

    record: RecordRead
    holdings: list[Holding]
    digital: list[DigitalResourceRead]
    clc_path: list[tuple[str, str]]  # [(code, name)] from the top class down
    available_count: int


class ScanResult(BaseModel):
    """What a scanned barcode (an item barcode or an ISBN) resolved to."""

    matched: str  # "item" | "isbn"
    record_id: int
    barcode: str | None = None


class ImportNoteRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    rejected: bool
    source_id: str | None
    reason: str


class ImportJobRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    file_name: str
    format: str
    status: ImportStatus
    publish: bool
    position: int
    imported: int
    merged: int
    rejected: int
    items_added: int
    started_at: datetime
    finished_at: datetime | None


class ImportReport(BaseModel):
    job: ImportJobRead
    notes: list[ImportNoteRead]
