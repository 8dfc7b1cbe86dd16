"""The neutral bibliographic description every exchange format reads into and writes from.

MARC21, MARCXML, UNIMARC/CNMARC and CSV codecs (``shulian.catalog.marc``) turn a record into a
``BibData`` and back; the catalogue service stores a ``BibData`` as a record with its items. Keeping
one shape in the middle means n formats need 2n mappings, not n².
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Format(StrEnum):
    """What kind of resource a record describes (a facet in search)."""

    BOOK = "book"
    EBOOK = "ebook"
    AUDIOBOOK = "audiobook"
    VIDEO = "video"
    PERIODICAL = "periodical"


class Role(StrEnum):
    """What a contributor did (MARC relator terms, UNIMARC 4-- relator codes mapped onto these)."""

    AUTHOR = "author"
    EDITOR = "editor"
    TRANSLATOR = "translator"
    ILLUSTRATOR = "illustrator"
    COMPILER = "compiler"
    CONTRIBUTOR = "contributor"


@dataclass(slots=True)
class Contributor:
    """A person or a body responsible for the work (MARC21 1XX/7XX, UNIMARC 70X/71X)."""

    name: str
    role: Role = Role.AUTHOR
    corporate: bool = False


@dataclass(slots=True)
class ItemData:
    """A copy as an exchange record carries it (MARC21 852/952, CNMARC 905)."""

    barcode: str
    branch: str | None = None  # branch code, such as "CEN"
    call_number: str | None = None
    shelf: str | None = None  # shelf (架), or free-text shelf location as given by the source
    floor: str | None = None  # 楼层, e.g. "3F"
    shelf_range: str | None = None  # 排
    layer: int | None = None  # 层
    position: int | None = None  # 位
    item_type: str | None = None
    price: str | None = None  # as written, e.g. "CNY45.00"; parsed by the service


@dataclass(slots=True)
class BibData:
    """One bibliographic record, independent of the format it came in.

    Strings are Unicode (NFC), stripped of ISBD punctuation at their ends. ``isbns`` holds the
    ISBNs as found in the source (they are validated and normalised by ``catalog.isbn``), and
    ``source_ids`` the identifiers of the source system, such as ``{"001": "12345", "003": "DLC"}``.
    """

    title: str
    other_titles: list[str] = field(default_factory=list)
    responsibility: str | None = None
    contributors: list[Contributor] = field(default_factory=list)
    publisher: str | None = None
    place: str | None = None
    year: int | None = None
    edition: str | None = None
    isbns: list[str] = field(default_factory=list)
    language: str | None = None  # ISO 639-2/B, three letters: "chi", "eng"
    subjects: list[str] = field(default_factory=list)
    clc: str | None = None  # 中图分类号, such as "I246.5"
    call_number: str | None = None
    summary: str | None = None
    series: str | None = None
    extent: str | None = None  # "326页 ; 21cm", "xii, 300 p."
    format: Format = Format.BOOK
    cover_url: str | None = None
    source_ids: dict[str, str] = field(default_factory=dict)
    items: list[ItemData] = field(default_factory=list)
