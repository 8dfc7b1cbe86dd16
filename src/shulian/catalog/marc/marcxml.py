"""MARCXML (http://www.loc.gov/MARC21/slim): a ``<collection>`` of ``<record>``s, or one bare
``<record>``, read with ``iterparse`` so a large file streams in constant memory.

Reading rules: a record is rejected (with its 1-based number and the reasons) when its leader is
not 24 characters, a tag is not three ASCII letters or digits, an indicator or subfield code is
not one character, or a field would exceed the 9,999 bytes ISO 2709 allows. Elements are read
with or without the namespace. Malformed XML stops the file where the parser stops: the record
being read is rejected with the parser's message (XML cannot be resynchronised).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from typing import BinaryIO
from xml.sax.saxutils import escape, quoteattr

from shulian.catalog.marc.iso2709 import MAX_FIELD
from shulian.catalog.marc.model import RawField, RawRecord, RecordError

__all__ = ["NS", "read_raw", "write_raw"]

NS = "http://www.loc.gov/MARC21/slim"
_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def read_raw(stream: BinaryIO) -> Iterator[tuple[int, RawRecord | RecordError, list[str]]]:
    """Yield ``(number, RawRecord or RecordError, warnings)`` for each record of the file."""
    number = 0
    root: ET.Element | None = None
    try:
        # expat (Python >= 3.11) never fetches external entities and caps entity expansion,
        # so the standard parser is safe for uploaded files without defusedxml.
        for event, elem in ET.iterparse(stream, events=("start", "end")):  # noqa: S314
            if event == "start":
                if root is None:
                    root = elem
                continue
            if _local(elem.tag) != "record":
                continue
            number += 1
            yield number, _record(elem), []
            elem.clear()
            if root is not None and root is not elem:
                root.clear()
    except ET.ParseError as exc:
        yield number + 1, RecordError(f"the XML is malformed: {exc}"), []


def _record(elem: ET.Element) -> RawRecord | RecordError:
    problems: list[str] = []
    leader = ""
    fields: list[RawField] = []
    source_id = None
    for child in elem:
        name = _local(child.tag)
        if name == "leader":
            leader = child.text or ""
        elif name == "controlfield":
            tag = child.get("tag", "")
            data = child.text or ""
            if tag == "001":
                source_id = data.strip() or None
            if not _good_tag(tag):
                problems.append(f"control field tag {tag!r} is not three letters or digits")
            elif len(data) * 4 > MAX_FIELD and len(data.encode()) + 1 > MAX_FIELD:
                problems.append(_too_long(tag, len(data.encode()) + 1))
            fields.append(RawField(tag, data=data))
        elif name == "datafield":
            tag = child.get("tag", "")
            ind1, ind2 = child.get("ind1", " "), child.get("ind2", " ")
            if not _good_tag(tag):
                problems.append(f"data field tag {tag!r} is not three letters or digits")
            if len(ind1) != 1 or len(ind2) != 1:
                problems.append(f"field {tag} has a bad indicator {ind1 + ind2!r}")
            subfields: list[tuple[str, str]] = []
            size = 3
            for sub in child:
                code = sub.get("code", "")
                value = sub.text or ""
                if len(code) != 1 or code not in _CHARS:
                    problems.append(f"field {tag} has a bad subfield code {code!r}")
                size += len(value) * 4 + 2
                subfields.append((code, value))
            if size > MAX_FIELD:
                exact = 3 + sum(len(v.encode()) + 2 for _c, v in subfields)
                if exact > MAX_FIELD:
                    problems.append(_too_long(tag, exact))
            fields.append(RawField(tag, ind1[:1] or " ", ind2[:1] or " ", subfields))
    if len(leader) != 24:
        problems.append(f"the leader is {len(leader)} characters, not 24")
    if problems:
        return RecordError("; ".join(dict.fromkeys(problems)), source_id)
    return RawRecord(leader, fields)


def _good_tag(tag: str) -> bool:
    return len(tag) == 3 and all(c in _CHARS for c in tag)


def _too_long(tag: str, size: int) -> str:
    return f"field {tag} is {size:,} bytes; the limit is {MAX_FIELD:,}"


# XML 1.0 cannot carry C0 controls other than tab, newline and carriage return.
_C0 = {i: None for i in range(32) if i not in (9, 10, 13)}


def _text(value: str) -> str:
    return escape(value.translate(_C0))


def record_xml(record: RawRecord) -> str:
    """One ``<record>`` element (without namespace declaration)."""
    out = [f"<record><leader>{_text(record.leader)}</leader>"]
    for f in record.fields:
        if f.data is not None:
            out.append(f'<controlfield tag="{f.tag}">{_text(f.data)}</controlfield>')
            continue
        out.append(f'<datafield tag="{f.tag}" ind1={quoteattr(f.ind1)} ind2={quoteattr(f.ind2)}>')
        out.extend(f"<subfield code={quoteattr(c)}>{_text(v)}</subfield>" for c, v in f.subfields)
        out.append("</datafield>")
    out.append("</record>\n")
    return "".join(out)


def write_raw(records: Iterable[RawRecord], stream: BinaryIO) -> None:
    """Write a MARCXML ``<collection>`` (UTF-8) of ``records``; the leader gets 09 ``a``."""
    stream.write(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    stream.write(f'<collection xmlns="{NS}">\n'.encode())
    for rec in records:
        leader = (rec.leader + " " * 24)[:24]
        leader = leader[:9] + "a" + leader[10:]
        stream.write(record_xml(RawRecord(leader, rec.fields)).encode("utf-8"))
    stream.write(b"</collection>\n")
