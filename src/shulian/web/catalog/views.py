"""What the catalogue's pages need around the catalogue and search services: new arrivals,
import reports, the record and item forms (text boxes <-> schemas) and facet links.

Nothing here writes: the page handlers call the services, which own the rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from pydantic import ValidationError
from sqlalchemy.orm import Session

from shulian.catalog import service as catalog_service
from shulian.catalog.bib import Role
from shulian.catalog.schemas import (
    RecordRead,
    RecordStatus,
    RecordSummary,
)
from shulian.search.schemas import Facet
from shulian.web.forms import problem_text

FACETS = tuple(f.value for f in Facet)
LIST_FIELDS = ("other_titles", "isbns", "subjects")
TEXT_FIELDS = (
    "title", "responsibility", "publisher", "place", "year", "edition", "language", "clc",
    "call_number", "summary", "series", "extent", "format", "cover_url",
)  # fmt: skip
#: Role words cataloguers type after "name |", besides the English role names.
ROLE_WORDS = {
    "著": Role.AUTHOR, "作者": Role.AUTHOR, "编": Role.EDITOR, "主编": Role.EDITOR,
    "编辑": Role.EDITOR, "译": Role.TRANSLATOR, "译者": Role.TRANSLATOR, "绘": Role.ILLUSTRATOR,
    "插图": Role.ILLUSTRATOR, "辑": Role.COMPILER, "编纂": Role.COMPILER, "其他": Role.CONTRIBUTOR,
}  # fmt: skip
CORPORATE_WORDS = {"corporate", "团体"}


# -- reading ---------------------------------------------------------------------------------------


def new_arrivals(session: Session, *, limit: int = 8) -> list[RecordSummary]:
    """The most recently published (or corrected) records, for the home page."""
    return catalog_service.list_records(session, status=RecordStatus.PUBLISHED, size=limit).items


# -- the record form -------------------------------------------------------------------------------


def record_to_form(record: RecordRead) -> dict[str, str]:
    """A record as the editor's text boxes show it."""
    form = {name: "" if getattr(record, name) is None else str(getattr(record, name))
            for name in TEXT_FIELDS}  # fmt: skip
    for name in LIST_FIELDS:
        form[name] = "\n".join(getattr(record, name))
    form["contributors"] = "\n".join(
        f"{c.name} | {c.role.value}" + (" | corporate" if c.corporate else "")
        for c in record.contributors
    )
    form["source_ids"] = "\n".join(f"{k} = {v}" for k, v in record.source_ids.items())
    form["version"] = str(record.version)
    return form


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _contributor(line: str) -> dict[str, Any]:
    parts = [p.strip() for p in line.split("|")]
    role_text = parts[1] if len(parts) > 1 and parts[1] else Role.AUTHOR.value
    role: Any = ROLE_WORDS.get(role_text, role_text.lower())
    corporate = len(parts) > 2 and parts[2].lower() in CORPORATE_WORDS
    return {"name": parts[0], "role": role, "corporate": corporate}


def form_to_record(form: Mapping[str, str]) -> dict[str, Any]:
    """The editor's text boxes as the fields of ``RecordCreate`` / ``RecordUpdate`` (unchecked:
    the schema validates them, and reports problems by field)."""
    data: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        value = form.get(name, "").strip()
        data[name] = value or None
    data["title"] = form.get("title", "")
    if data["format"] is None:
        del data["format"]
    if data["language"]:
        data["language"] = data["language"].lower()
    for name in LIST_FIELDS:
        data[name] = _lines(form.get(name, ""))
    data["contributors"] = [_contributor(line) for line in _lines(form.get("contributors", ""))]
    data["source_ids"] = {
        k.strip(): v.strip()
        for k, _, v in (line.partition("=") for line in _lines(form.get("source_ids", "")))
        if k.strip()
    }
    if form.get("version"):
        data["version"] = form["version"]
    return data


def field_errors(exc: ValidationError) -> dict[str, str]:
    """Problems by form field (the first element of each error's location)."""
    out: dict[str, str] = {}
    for err in exc.errors():
        name = str(err["loc"][0]) if err["loc"] else ""
        where = ".".join(str(p) for p in err["loc"][1:])
        text = f"{where}: {problem_text(err)}" if where else problem_text(err)
        out[name] = f"{out[name]}; {text}" if name in out else text
    return out


# -- the item form ---------------------------------------------------------------------------------

ITEM_TEXT = ("floor", "shelf_range", "shelf", "call_number", "epc")
ITEM_NUMBERS = ("layer", "position")


def form_to_item(form: Mapping[str, str]) -> dict[str, Any]:
    """An item form as the fields of ``ItemCreate`` / ``ItemUpdate``; the price is typed in
    yuan (``45.5``) and stored in cents. Empty boxes are left out."""
    data: dict[str, Any] = {}
    for name in (*ITEM_TEXT, *ITEM_NUMBERS, "barcode", "branch", "item_type", "status"):
        value = form.get(name, "").strip()
        if value:
            data[name] = value
    price = form.get("price", "").strip()
    if price:
        try:
            yuan: Decimal | None = Decimal(price)
        except InvalidOperation:
            yuan = None
        # NaN and infinity have no integer, and ``1e999999999`` overflows the decimal context
        # (``abs`` raises) or takes minutes to become one: past a trillion yuan the text goes to
        # the schema as it is. ``adjusted`` does no arithmetic.
        if yuan is not None and yuan.is_finite() and yuan.adjusted() < 12:
            data["price_cents"] = int(yuan * 100)
        else:
            data["price_cents"] = price  # the schema names the problem
    return data


# -- search links ----------------------------------------------------------------------------------


def search_url(
    q: str, filters: Mapping[str, Sequence[str]], *, sort: str = "relevance", page: int = 1
) -> str:
    params: list[tuple[str, str | int]] = [("q", q)] if q else []
    for name in FACETS:
        params.extend((name, v) for v in filters.get(name, ()))
    if sort != "relevance":
        params.append(("sort", sort))
    if page > 1:
        params.append(("page", page))
    return "/search?" + urlencode(params) if params else "/search"


def toggled(filters: Mapping[str, Sequence[str]], name: str, value: str) -> dict[str, list[str]]:
    """The filters with ``value`` of facet ``name`` switched on or off."""
    out = {k: list(v) for k, v in filters.items()}
    values = out.setdefault(name, [])
    if value in values:
        values.remove(value)
    else:
        values.append(value)
    return out
