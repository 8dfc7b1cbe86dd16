"""The one entry point of the codecs: read any supported format into ``BibData``, write it back.

Formats: ``marc21`` (ISO 2709), ``unimarc`` (ISO 2709, UNIMARC/CNMARC tags), ``marcxml`` and
``csv``. When ``format`` is None it is sniffed from the first bytes: ``<`` (after a BOM or
whitespace) is MARCXML; five digits followed by an ISO 2709 leader is MARC, UNIMARC when the
first record's directory has a 200 and no 245; anything else is CSV.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO, cast

from shulian.catalog.bib import BibData
from shulian.catalog.marc import csvcodec, iso2709, marcxml
from shulian.catalog.marc.encoding import resolve_encoding
from shulian.catalog.marc.errors import UnknownRecordFormat
from shulian.catalog.marc.marc21 import MARC21_TAGS, from_marc21, to_marc21
from shulian.catalog.marc.model import ParsedRecord, RawRecord, RecordError, RejectedRecord
from shulian.catalog.marc.unimarc import UNIMARC_TAGS, from_unimarc, to_unimarc

__all__ = ["FORMATS", "read_records", "sniff_format", "write_records"]

FORMATS = ("marc21", "marcxml", "unimarc", "csv")
_SNIFF = 4096


def rejection(
    number: int, offset: int | None, source_id: str | None, detail: str
) -> RejectedRecord:
    """A ``RejectedRecord`` whose reason reads ``record 7 (001 ocm123): <detail>``."""
    where = f"record {number}" + (f" (001 {source_id})" if source_id else "")
    return RejectedRecord(number, offset, source_id, f"{where}: {detail}")


def sniff_format(head: bytes) -> str:
    """Guess the format from the first bytes of a file (see the module rules)."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n\x00")
    if text.startswith(b"<"):
        return "marcxml"
    if len(text) >= 24 and text[:5].isdigit() and text[12:17].isdigit():
        base = int(text[12:17])
        directory = text[24 : base - 1] if base <= len(text) else text[24:]
        tags = {directory[i : i + 3] for i in range(0, len(directory) - 2, 12)}
        if b"200" in tags and b"245" not in tags:
            return "unimarc"
        return "marc21"
    return "csv"


def read_records(
    stream: BinaryIO, *, format: str | None = None, encoding: str | None = None
) -> Iterator[ParsedRecord | RejectedRecord]:
    """Read every record of ``stream``, yielding a ``ParsedRecord`` or a ``RejectedRecord`` for
    each, in order, numbered from 1. A bad record never stops the iteration.

    Raises ``UnknownRecordFormat`` or ``UnknownEncoding`` for a bad option (before reading).
    """
    if format is not None and format not in FORMATS:
        raise UnknownRecordFormat(format, ", ".join(FORMATS))
    enc = resolve_encoding(encoding) if encoding else None
    if format is None:
        head = stream.read(_SNIFF)
        format = sniff_format(head)
        stream = cast(BinaryIO, _Prefixed(head, stream))
    if format == "marcxml":
        return _map_raw(marcxml.read_raw(stream), from_marc21)
    if format == "csv":
        return csvcodec.read_csv(stream, encoding=enc)
    return _read_iso(stream, unimarc=format == "unimarc", encoding=enc)


def _read_iso(
    stream: BinaryIO, *, unimarc: bool, encoding: str | None
) -> Iterator[ParsedRecord | RejectedRecord]:
    mapper = from_unimarc if unimarc else from_marc21
    wanted = UNIMARC_TAGS if unimarc else MARC21_TAGS
    for chunk in iso2709.split_records(stream):
        if chunk.problem:
            yield rejection(chunk.number, chunk.offset, None, chunk.problem)
            continue
        warnings = chunk.warnings
        try:
            raw = iso2709.parse_record(
                chunk.data, encoding=encoding, unimarc=unimarc, warnings=warnings, wanted=wanted
            )
            bib = mapper(raw, warnings)
        except RecordError as exc:
            yield rejection(chunk.number, chunk.offset, exc.source_id, exc.reason)
            continue
        yield ParsedRecord(chunk.number, bib, warnings)


def _map_raw(
    raws: Iterator[tuple[int, RawRecord | RecordError, list[str]]],
    mapper: Callable[[RawRecord, list[str]], BibData],
) -> Iterator[ParsedRecord | RejectedRecord]:
    for number, raw, warnings in raws:
        if isinstance(raw, RecordError):
            yield rejection(number, None, raw.source_id, raw.reason)
            continue
        try:
            bib = mapper(raw, warnings)
        except RecordError as exc:
            yield rejection(number, None, exc.source_id, exc.reason)
            continue
        yield ParsedRecord(number, bib, warnings)


def write_records(records: Iterable[BibData], stream: BinaryIO, *, format: str) -> None:
    """Write ``records`` to ``stream`` in ``format`` (UTF-8 throughout).

    Raises ``UnknownRecordFormat`` for an unknown format, and ``RecordError`` when a record
    cannot be represented (a field over 9,999 bytes in ISO 2709).
    """
    if format not in FORMATS:
        raise UnknownRecordFormat(format, ", ".join(FORMATS))
    if format == "csv":
        csvcodec.write_csv(records, stream)
    elif format == "marcxml":
        marcxml.write_raw((to_marc21(bib) for bib in records), stream)
    elif format == "unimarc":
        for bib in records:
            stream.write(iso2709.write_record(to_unimarc(bib), unimarc=True))
    else:
        for bib in records:
            stream.write(iso2709.write_record(to_marc21(bib)))


class _Prefixed(io.RawIOBase):
    """A stream that yields ``head`` (already read for sniffing) before the rest of ``stream``."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head = head
        self._stream = stream

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if self._head:
            if size is None or size < 0:
                data, self._head = self._head + self._stream.read(), b""
                return data
            data, self._head = self._head[:size], self._head[size:]
            return data
        return self._stream.read(-1 if size is None else size)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
