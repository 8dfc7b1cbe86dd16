"""Helpers every page handler shares: safe redirects and error messages in the reader's language."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from shulian.core import i18n
from shulian.core.errors import ShulianError

#: The problems pydantic reports most, as messages to translate (``{limit}`` and ``{expected}``
#: come from the error's context). Any other problem keeps pydantic's English text.
PROBLEM_TEXTS: dict[str, str] = {
    "missing": "Required",
    "int_parsing": "Enter a whole number",
    "int_type": "Enter a whole number",
    "int_from_float": "Enter a whole number",
    "float_parsing": "Enter a number",
    "float_type": "Enter a number",
    "bool_parsing": "Enter true or false",
    "bool_type": "Enter true or false",
    "greater_than_equal": "At least {limit}",
    "greater_than": "More than {limit}",
    "less_than_equal": "At most {limit}",
    "less_than": "Less than {limit}",
    "string_too_short": "At least {limit} characters",
    "string_too_long": "At most {limit} characters",
    "string_type": "Enter text",
    "string_pattern_mismatch": "Not in the expected form",
    "too_short": "At least {limit} items",
    "too_long": "At most {limit} items",
    "enum": "One of: {expected}",
    "literal_error": "One of: {expected}",
    "date_parsing": "Enter a date as YYYY-MM-DD",
    "date_from_datetime_parsing": "Enter a date as YYYY-MM-DD",
    "datetime_parsing": "Enter a date and time",
    "json_invalid": "Not valid JSON",
    "model_attributes_type": "Expected an object",
    "dict_type": "Expected an object",
    "list_type": "Expected a list",
    "url_parsing": "Not a valid web address",
    "url_scheme": "Not a valid web address",
}
_LIMITS = ("ge", "gt", "le", "lt", "min_length", "max_length")


def safe_next(target: str | None, default: str = "/") -> str:
    """Only local paths: ``next`` must never send a reader to another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def problem_text(err: Mapping[str, Any]) -> str:
    """One problem pydantic found, in the reader's language where it is a common one."""
    template = PROBLEM_TEXTS.get(str(err.get("type")))
    if template is None:
        return str(err.get("msg", "invalid"))
    ctx = err.get("ctx") or {}
    limit = next((ctx[k] for k in _LIMITS if k in ctx), "")
    return i18n.gettext(template).format(limit=limit, expected=ctx.get("expected", ""))


def where(err: Mapping[str, Any]) -> str:
    """The field a problem is in (``items.0.barcode``), without FastAPI's ``body``/``query``."""
    return ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))


def problems_text(errors: Iterable[Mapping[str, Any]], *, localized: bool = True) -> str:
    """Every problem with the field it is in, one after another; ``localized=False`` keeps
    pydantic's English (the API's ``detail``, which programs may match)."""
    parts = []
    for err in errors:
        text = problem_text(err) if localized else str(err.get("msg", "invalid"))
        field = where(err)
        parts.append(f"{field}: {text}" if field else text)
    return "; ".join(parts)


def error_text(exc: Exception) -> str:
    """A domain error's message, translated; a validation error's problems, one after another."""
    if isinstance(exc, ShulianError):
        return exc.localized()
    if isinstance(exc, ValidationError):
        return problems_text(exc.errors())
    raise exc
