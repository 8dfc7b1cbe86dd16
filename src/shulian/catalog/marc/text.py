"""Text helpers shared by the mappings: ISBD punctuation, years, relator terms."""

from __future__ import annotations

import re

from shulian.catalog.bib import Role
from shulian.catalog.marc.encoding import nfc

__all__ = ["clean", "first_year", "protect", "role_from_code", "role_from_term"]

_PUNCT = " \t\n/:;=,"
_YEAR = re.compile(r"(?<!\d)(1[5-9]\d\d|20\d\d)(?!\d)")
# Non-sort markers: UNIMARC NSB/NSE (C1 0x88/0x89 and 0x98/0x9C).
_NON_SORT = str.maketrans("", "", "\x88\x89\x98\x9c")


def clean(value: str | None, *, period: bool = True) -> str:
    """``value`` in NFC, trimmed, without trailing ISBD punctuation (`` /``, `` :``, `` ;``,
    `` =``, ``,``) and, when ``period``, one final full stop unless it ends an initial ("B.")
    or an ellipsis ("..."). Non-sort markers are removed; a value wholly in square brackets
    loses them."""
    if not value:
        return ""
    if value.isascii():
        text = value.strip().rstrip(_PUNCT)
    else:
        text = nfc(value).translate(_NON_SORT).strip().rstrip(_PUNCT)
    if period and text[-1:] == "." and text[-3:] != "...":
        before = text[:-1].rsplit(" ", 1)[-1].rsplit(".", 1)[-1]
        if not (len(before) == 1 and before.isupper()):
            text = text[:-1].rstrip(_PUNCT)
    if "[" in text or "]" in text:
        if text[0] == "[" and text[-1] == "]" and text.count("[") == 1:
            text = text[1:-1].strip()
        elif text[0] == "[" and "]" not in text:
            text = text[1:].strip()
        elif text[-1] == "]" and "[" not in text:
            text = text[:-1].strip()
    return text


def protect(value: str) -> str:
    """The form to write so that ``clean`` reads ``value`` back unchanged ("et al." is written
    "et al.." because the reader drops one final full stop)."""
    return value + "." if value.endswith(".") and clean(value + ".") == value else value


def first_year(value: str | None) -> int | None:
    """The first four-digit year (1500-2099) in ``value``."""
    if not value:
        return None
    match = _YEAR.search(value)
    return int(match.group(1)) if match else None


_TERMS: dict[str, Role] = {
    "author": Role.AUTHOR,
    "aut": Role.AUTHOR,
    "editor": Role.EDITOR,
    "edt": Role.EDITOR,
    "ed": Role.EDITOR,
    "translator": Role.TRANSLATOR,
    "trl": Role.TRANSLATOR,
    "tr": Role.TRANSLATOR,
    "illustrator": Role.ILLUSTRATOR,
    "ill": Role.ILLUSTRATOR,
    "compiler": Role.COMPILER,
    "com": Role.COMPILER,
    "comp": Role.COMPILER,
    "contributor": Role.CONTRIBUTOR,
    "ctb": Role.CONTRIBUTOR,
    "著": Role.AUTHOR,
    "撰": Role.AUTHOR,
    "编": Role.EDITOR,
    "主编": Role.EDITOR,
    "编著": Role.EDITOR,
    "译": Role.TRANSLATOR,
    "翻译": Role.TRANSLATOR,
    "绘": Role.ILLUSTRATOR,
    "插图": Role.ILLUSTRATOR,
    "编纂": Role.COMPILER,
    "辑": Role.COMPILER,
}


def role_from_term(value: str | None) -> Role | None:
    """The role a MARC relator term or code ($e / $4) names, or None for unknown terms."""
    if not value:
        return None
    key = clean(value).lower().rstrip(".")
    return _TERMS.get(key)


# UNIMARC relator codes (Appendix C).
_UNIMARC_CODES = {
    "070": Role.AUTHOR,
    "340": Role.EDITOR,
    "651": Role.EDITOR,
    "730": Role.TRANSLATOR,
    "440": Role.ILLUSTRATOR,
    "220": Role.COMPILER,
}
_UNIMARC_BY_ROLE = {
    Role.AUTHOR: "070",
    Role.EDITOR: "340",
    Role.TRANSLATOR: "730",
    Role.ILLUSTRATOR: "440",
    Role.COMPILER: "220",
}


def role_from_code(code: str | None) -> Role | None:
    """The role a UNIMARC relator code ($4) names, or None."""
    return _UNIMARC_CODES.get(code.strip()) if code else None


def unimarc_code(role: Role) -> str | None:
    """The UNIMARC relator code written for ``role`` (None for a plain contributor)."""
    return _UNIMARC_BY_ROLE.get(role)


def present(*pairs: tuple[str, str | None]) -> list[tuple[str, str]]:
    """The (code, value) subfield pairs whose value is not empty, in order."""
    return [(c, v) for c, v in pairs if v]
