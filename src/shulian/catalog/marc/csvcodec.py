"""CSV: one row = one record with at most one copy (the importer merges duplicate records).

Rules:

- The first row names the columns; names are those of ``BibData`` (case and surrounding spaces
  ignored): title, other_titles, responsibility, authors, corporate_authors, publisher, place,
  year, edition, isbn, language, subjects, clc, call_number, summary, series, extent, format,
  cover_url, source_id, and for the copy barcode, branch, item_call_number, shelf, item_type,
  price. Unknown columns are ignored with a warning on the first record.
- Multi-valued cells (other_titles, authors, corporate_authors, isbn, subjects) are split on
  `` | `` (space, bar, space).
- An author is ``name`` or ``name (role)`` with role one of author, editor, translator,
  illustrator, compiler, contributor (default author).
- source_id is the 001, or ``key=value`` pairs (``001=123 | 003=DLC``) for several source ids.
- A row with an empty title, a year that is not a whole number or an unknown format is rejected,
  naming the line and the column. A copy is made only when barcode is given.
- Files are UTF-8 with or without BOM; when not valid UTF-8 they are read as GB18030, unless an
  encoding is given.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from shulian.catalog.bib import BibData, Contributor, Format, ItemData, Role
from shulian.catalog.marc.model import ParsedRecord, RejectedRecord

__all__ = ["COLUMNS", "read_csv", "write_csv"]

COLUMNS = (
    "title",
    "other_titles",
    "responsibility",
    "authors",
    "corporate_authors",
    "publisher",
    "place",
    "year",
    "edition",
    "isbn",
    "language",
    "subjects",
    "clc",
    "call_number",
    "summary",
    "series",
    "extent",
    "format",
    "cover_url",
    "source_id",
    "barcode",
    "branch",
    "item_call_number",
    "shelf",
    "item_type",
    "price",
)
SEP = " | "
_ROLES = {r.value: r for r in Role}


def _split(cell: str) -> list[str]:
    return [v.strip() for v in cell.split(SEP) if v.strip()] if cell else []


def _person(text: str, corporate: bool) -> Contributor:
    if text.endswith(")") and " (" in text:
        name, _, role = text[:-1].rpartition(" (")
        if role.strip().lower() in _ROLES:
            return Contributor(name.strip(), _ROLES[role.strip().lower()], corporate)
    return Contributor(text, Role.AUTHOR, corporate)


def _decode(data: bytes, encoding: str | None) -> str:
    if encoding:
        return data.decode(encoding)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def read_csv(
    stream: BinaryIO, *, encoding: str | None = None
) -> Iterator[ParsedRecord | RejectedRecord]:
    """Read CSV rows as records (see the module rules)."""
    try:
        text = _decode(stream.read(), encoding)
    except UnicodeDecodeError as exc:
        name = encoding or "UTF-8 or GB18030"
        yield RejectedRecord(1, exc.start, None, f"the file is not valid {name}: {exc.reason}")
        return
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        return
    names = [h.strip().lower().lstrip("\ufeff") for h in header]
    unknown = [n for n in names if n and n not in COLUMNS]
    number = 0
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        number += 1
        line = reader.line_num
        cells = {n: (row[i].strip() if i < len(row) else "") for i, n in enumerate(names)}
        warnings = (
            [f"unknown columns ignored: {', '.join(unknown)}"] if unknown and number == 1 else []
        )
        source_ids = _source_ids(cells.get("source_id", ""))
        where = f"record {number} (line {line}"
        where += f", source_id {source_ids['001']})" if "001" in source_ids else ")"
        problem = _problem(cells)
        if problem:
            yield RejectedRecord(number, None, source_ids.get("001"), f"{where}: {problem}")
            continue
        yield ParsedRecord(number, _bib(cells, source_ids), warnings)


def _problem(cells: dict[str, str]) -> str | None:
    if not cells.get("title"):
        return "no title (column title is empty)"
    year = cells.get("year", "")
    if year and not (year.isdigit() and year.isascii()):
        return f"column year: {year!r} is not a whole number"
    fmt = cells.get("format", "").lower()
    if fmt and fmt not in {f.value for f in Format}:
        return f"column format: {fmt!r} is not one of {', '.join(f.value for f in Format)}"
    return None


def _source_ids(cell: str) -> dict[str, str]:
    parts = _split(cell)
    if parts and all("=" in p for p in parts):
        return {k.strip(): v.strip() for k, _, v in (p.partition("=") for p in parts)}
    return {"001": cell.strip()} if cell.strip() else {}


def _bib(c: dict[str, str], source_ids: dict[str, str]) -> BibData:
    def opt(name: str) -> str | None:
        return c.get(name) or None

    items = []
    if c.get("barcode"):
        items.append(
            ItemData(
                barcode=c["barcode"],
                branch=opt("branch"),
                call_number=opt("item_call_number"),
                shelf=opt("shelf"),
                item_type=opt("item_type"),
                price=opt("price"),
            )
        )
    people = [_person(a, False) for a in _split(c.get("authors", ""))]
    people += [_person(a, True) for a in _split(c.get("corporate_authors", ""))]
    return BibData(
        title=c["title"],
        other_titles=_split(c.get("other_titles", "")),
        responsibility=opt("responsibility"),
        contributors=people,
        publisher=opt("publisher"),
        place=opt("place"),
        year=int(c["year"]) if c.get("year") else None,
        edition=opt("edition"),
        isbns=_split(c.get("isbn", "")),
        language=(c.get("language") or "").lower() or None,
        subjects=_split(c.get("subjects", "")),
        clc=opt("clc"),
        call_number=opt("call_number"),
        summary=opt("summary"),
        series=opt("series"),
        extent=opt("extent"),
        format=Format(c["format"].lower()) if c.get("format") else Format.BOOK,
        cover_url=opt("cover_url"),
        source_ids=source_ids,
        items=items,
    )


def _people(people: Iterable[Contributor]) -> str:
    return SEP.join(
        p.name if p.role is Role.AUTHOR else f"{p.name} ({p.role.value})" for p in people
    )


def write_csv(records: Iterable[BibData], stream: BinaryIO) -> None:
    """Write ``records`` as UTF-8 CSV (with BOM, so spreadsheet programs read Chinese), one row
    per copy (a record without copies gets one row)."""
    out = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for bib in records:
        ids = bib.source_ids
        source = (
            ids.get("001", "")
            if set(ids) <= {"001"}
            else SEP.join(f"{k}={v}" for k, v in ids.items())
        )
        base = [
            bib.title,
            SEP.join(bib.other_titles),
            bib.responsibility or "",
            _people(p for p in bib.contributors if not p.corporate),
            _people(p for p in bib.contributors if p.corporate),
            bib.publisher or "",
            bib.place or "",
            str(bib.year) if bib.year is not None else "",
            bib.edition or "",
            SEP.join(bib.isbns),
            bib.language or "",
            SEP.join(bib.subjects),
            bib.clc or "",
            bib.call_number or "",
            bib.summary or "",
            bib.series or "",
            bib.extent or "",
            bib.format.value,
            bib.cover_url or "",
            source,
        ]
        copies: list[ItemData | None] = list(bib.items) or [None]
        for item in copies:
            copy = (
                [
                    item.barcode,
                    item.branch or "",
                    item.call_number or "",
                    item.shelf or "",
                    item.item_type or "",
                    item.price or "",
                ]
                if item
                else [""] * 6
            )
            writer.writerow(base + copy)
    out.detach()
