"""The raw record every MARC codec shares, and what a reader yields.

A ``RawRecord`` is a MARC record after structural parsing and character decoding, before any
meaning is given to its tags: the ISO 2709, MARCXML, MARC21 and UNIMARC modules all read into it
and write from it. Readers yield ``ParsedRecord`` (a ``BibData`` and the warnings met on the way)
or ``RejectedRecord`` (why the record could not be read); a rejection never stops the batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from shulian.catalog.bib import BibData

__all__ = ["ParsedRecord", "RawField", "RawRecord", "RecordError", "RejectedRecord"]


@dataclass(slots=True)
class RawField:
    """One field: a control field has ``data`` and no subfields; a data field has indicators and
    ``(code, value)`` subfields in order."""

    tag: str
    ind1: str = " "
    ind2: str = " "
    subfields: list[tuple[str, str]] = field(default_factory=list)
    data: str | None = None

    @property
    def is_control(self) -> bool:
        return self.data is not None

    def get(self, code: str) -> str | None:
        """The first subfield ``code``, or None."""
        for c, v in self.subfields:
            if c == code:
                return v
        return None

    def get_all(self, code: str) -> list[str]:
        return [v for c, v in self.subfields if c == code]


@dataclass(slots=True)
class RawRecord:
    """A leader (24 characters) and fields in their order."""

    leader: str
    fields: list[RawField] = field(default_factory=list)

    def control(self, tag: str) -> str | None:
        """The data of the first control field ``tag``, or None."""
        for f in self.fields:
            if f.tag == tag and f.data is not None:
                return f.data
        return None

    def each(self, *tags: str) -> Iterator[RawField]:
        """The data fields whose tag is one of ``tags``, in record order."""
        for f in self.fields:
            if f.tag in tags and f.data is None:
                yield f

    def first(self, tag: str) -> RawField | None:
        return next(self.each(tag), None)


@dataclass(slots=True)
class ParsedRecord:
    """A record read successfully; ``number`` is its 1-based position in the input."""

    number: int
    bib: BibData
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class RejectedRecord:
    """A record that could not be read: its position, byte offset (binary formats), source id
    (001) when it could be read, and the reason in plain English for the import report."""

    number: int
    offset: int | None
    source_id: str | None
    reason: str

    @property
    def message(self) -> str:
        """``record 7 (001 ocm123): <reason>``, as shown in an import report."""
        where = f"record {self.number}"
        if self.source_id:
            where += f" (001 {self.source_id})"
        return f"{where}: {self.reason}"


class RecordError(Exception):
    """Raised inside a codec when one record cannot be read; the reader turns it into a
    ``RejectedRecord`` and goes on with the next record."""

    def __init__(self, reason: str, source_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.source_id = source_id
