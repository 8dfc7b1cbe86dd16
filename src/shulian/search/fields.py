"""The Tantivy schema of the catalogue index and how a ``SearchDoc`` becomes a Tantivy document.

All analysis happens in Python (``analysis``) so that index and query tokens come from the same
code; Tantivy receives space-separated tokens and splits them with its built-in ``whitespace``
tokenizer (no custom tokenizer to register before every open). Facet fields use ``raw`` and are
fast fields, so facet counts and sorts run in Rust over columns.

Bump ``SCHEMA_VERSION`` whenever fields or analysis change: an index built by another version is
refused (or rebuilt) on open.
"""

from __future__ import annotations

import json
import math
from typing import Any

import tantivy

from shulian.search import analysis
from shulian.search.documents import SearchDoc

SCHEMA_VERSION = 2

#: Edge n-grams of suggestion keys stop here; longer prefixes are checked against the title.
SUGGEST_MAX_CHARS = 20
#: Display titles are kept to this length (a title is not a summary).
DISPLAY_MAX_CHARS = 500
#: A result line names at most this many contributors.
LINE_MAX_AUTHORS = 20

#: Record languages whose Latin titles may be romanised Chinese (None: not catalogued).
ROMANISED_LANGUAGES = frozenset({None, "chi", "zho"})

# Analysed text fields and the positions they keep ("position" is needed for phrases).
TEXT_FIELDS: dict[str, str] = {
    "title": "position",
    "other_titles": "position",
    "authors": "position",
    "title_chars": "position",  # each CJK character of titles and authors: substring match
    "subjects": "freq",
    "series_pub": "freq",
    "summary": "freq",
    "py": "freq",  # pinyin words and syllables of titles, authors, series
    "py_whole": "basic",  # whole-text pinyin and initials (kuangrenriji, krrj, luxun)
    "ids": "basic",  # ISBN-13/10, call numbers, CLC numbers
    "suggest": "basic",  # edge n-grams of suggestion keys
}
# Facet fields (raw keywords, fast).
KEYWORD_FACETS = ("clc_top", "branch", "avail_branch", "format", "language")


def build_schema() -> Any:
    sb = tantivy.SchemaBuilder()
    sb.add_unsigned_field("record_id", indexed=True, fast=True)
    sb.add_bytes_field("display", stored=True)
    sb.add_bytes_field("line", stored=True)  # the rest of a result line, as JSON (``line_of``)
    for name, option in TEXT_FIELDS.items():
        sb.add_text_field(name, tokenizer_name="whitespace", index_option=option)
    for name in KEYWORD_FACETS:
        sb.add_text_field(name, tokenizer_name="raw", fast=True, index_option="basic")
    sb.add_unsigned_field("avail_any", indexed=True, fast=True)
    sb.add_integer_field("year", indexed=True, fast=True)
    sb.add_unsigned_field("loans", fast=True)
    sb.add_integer_field("added_at", fast=True)
    sb.add_float_field("boost", fast=True)
    return sb.build()


def popularity_weight(loans: int) -> float:
    """The ``boost`` fast-field value for a loan count.

    Tantivy multiplies relevance by ``log2(2 + boost)``; we store ``2**(1 + 0.3 f) - 2`` with
    ``f = min(1, log10(1 + loans) / 4)`` so the factor runs from 1.0 (never lent) to 1.3
    (10,000 loans or more): popularity breaks near-ties, it never outranks a better match.
    """
    f = min(1.0, math.log10(1 + max(loans, 0)) / 4)
    return float(2 ** (1 + 0.3 * f) - 2)


_LINE_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def line_of(doc: SearchDoc) -> bytes:
    """What a line of results shows besides the title, stored so that a search reads no table.

    Keys are short: the stored text of every document is decompressed on every hit.
    """
    return _LINE_JSON.encode(
        {
            "a": doc.authors[:LINE_MAX_AUTHORS],
            "y": doc.year,
            "p": doc.publisher,
            "f": doc.format,
            "c": doc.clc,
            "u": doc.cover_url,
            "n": doc.copies,
            "v": doc.available,
        }
    ).encode()


def _join(tokens: list[str]) -> str:
    return " ".join(tokens)


def to_fields(doc: SearchDoc) -> dict[str, Any]:
    """The field values of one record, ready for ``tantivy.Document.from_dict``."""
    title_norm = analysis.normalize(doc.title)
    others_norm = [analysis.normalize(t) for t in doc.other_titles if t]
    authors_norm = [analysis.normalize(a) for a in doc.authors if a]

    py: list[str] = []
    py_whole: list[str] = []
    chars: list[str] = []
    for text in (title_norm, *others_norm, *authors_norm, analysis.normalize(doc.series or "")):
        forms = analysis.pinyin_forms(text, normalized=True)
        if forms is None:
            continue
        py += forms.words + forms.syllables
        py_whole += [forms.whole, forms.initials]
    for text in (title_norm, *others_norm, *authors_norm):
        chars += analysis.cjk_chars(text, normalized=True)
    # Romanised titles and names ("Kuang ren ri ji", "Lu, Xun") also give whole-text pinyin;
    # only Chinese-language records (or records of unknown language) are romanised Chinese.
    if doc.language in ROMANISED_LANGUAGES:
        for text in (doc.title, *doc.other_titles, *doc.authors):
            roman = analysis.romanised_pinyin(text) if not analysis.has_cjk(text) else None
            if roman is not None:
                py_whole += [roman.whole, roman.initials]

    ids: list[str] = []
    for isbn in doc.isbns:
        ids += analysis.isbn_tokens(isbn)
    for code in (doc.call_number, doc.clc):
        if code:
            ids += analysis.identifier_tokens(code)

    suggest: list[str] = []
    romanised = [doc.title, *doc.other_titles] if doc.language in ROMANISED_LANGUAGES else []
    for key in analysis.suggestion_keys(doc.title, romanised):
        suggest += analysis.edge_grams(key, SUGGEST_MAX_CHARS)

    fields: dict[str, Any] = {
        "record_id": doc.record_id,
        "display": doc.title[:DISPLAY_MAX_CHARS].encode(),
        "line": line_of(doc),
        "title": _join(analysis.text_tokens(title_norm, normalized=True)),
        "other_titles": _join(
            [t for o in others_norm for t in analysis.text_tokens(o, normalized=True)]
        ),
        "authors": _join(
            [t for a in authors_norm for t in analysis.text_tokens(a, normalized=True)]
        ),
        "title_chars": _join(chars),
        "subjects": _join([t for s in doc.subjects for t in analysis.text_tokens(s)]),
        "series_pub": _join(analysis.text_tokens(f"{doc.series or ''} {doc.publisher or ''}")),
        "summary": _join(analysis.text_tokens(doc.summary)) if doc.summary else "",
        "py": _join(list(dict.fromkeys(py))),
        "py_whole": _join(list(dict.fromkeys(t for t in py_whole if t))),
        "ids": _join(ids),
        "suggest": _join(suggest),  # repeats only raise a count nobody reads: no dedupe
        "branch": list(dict.fromkeys(doc.branches)),
        "avail_branch": list(dict.fromkeys(doc.available_branches)),
        "avail_any": 1 if doc.available_branches else 0,
        "format": doc.format,
        "loans": max(doc.loans, 0),
        "added_at": doc.added_at,
        "boost": popularity_weight(doc.loans),
    }
    if doc.clc_top:
        fields["clc_top"] = doc.clc_top.upper()
    if doc.language:
        fields["language"] = doc.language.lower()
    if doc.year is not None:
        fields["year"] = doc.year
    return fields
