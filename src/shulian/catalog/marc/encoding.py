"""Character encodings of MARC records: choosing one per record and decoding fields with it.

Rules (a record's encoding is chosen once, from all its field bytes):

- An ``encoding=`` override given by the user wins (``"marc8"``, ``"utf-8"``, ``"gb18030"``
  (also for GBK and GB2312, its subsets), ``"cp1251"``, any Python codec name).
- Bytes that are all ASCII are read as ASCII, whatever the record claims.
- MARC21 leader/09 ``a`` claims UTF-8, blank claims MARC-8; UNIMARC declares its set in field 100
  ($a/26-27, ``50`` = UTF-8). Files lie, so: bytes that are valid UTF-8 are read as UTF-8 (MARC-8
  text with diacritics is never valid UTF-8); else bytes that look like GB2312/GBK text (high
  bytes only in pairs, decoding to CJK) are read as GB18030 with a warning; else a record
  claiming MARC-8 is read as MARC-8.
- Invalid bytes reject the record (``DecodeProblem`` names the field, the byte and its
  position): a replacement character would silently corrupt the catalogue, and the import report
  tells the librarian to fix the file or pass ``encoding=``.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from pymarc.marc8 import MARC8ToUnicode
from pymarc.marc8_mapping import CODESETS, ODD_MAP

from shulian.catalog.marc.errors import UnknownEncoding

__all__ = ["MARC8", "DecodeProblem", "choose_encoding", "decode", "resolve_encoding"]

MARC8 = "marc8"

_ALIASES = {
    "marc8": MARC8,
    "marc-8": MARC8,
    "ansel": MARC8,
    "gbk": "gb18030",
    "gb2312": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "gb18030": "gb18030",
    "utf8": "utf-8",
    "utf-8": "utf-8",
}

# Text in GB2312/GBK: ASCII, or a lead byte 0x81-0xFE followed by a high trail byte.
_GB_PAIRS = re.compile(rb"(?:[\x00-\x7f]|[\x81-\xfe][\x80-\xfe])*")
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


class DecodeProblem(Exception):
    """Bytes that are not valid in the chosen encoding; ``str()`` says which and where."""


def resolve_encoding(name: str) -> str:
    """The canonical name of an ``encoding=`` override; raises ``UnknownEncoding``."""
    key = name.strip().lower().replace("_", "-")
    if key in _ALIASES:
        return _ALIASES[key]
    try:
        return codecs.lookup(key).name
    except LookupError:
        raise UnknownEncoding(name) from None


def _looks_gb(data: bytes) -> bool:
    if _GB_PAIRS.fullmatch(data) is None:
        return False
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        return False
    high = sum(1 for ch in text if ord(ch) > 0x7F)
    return high > 0 and len(_CJK.findall(text)) * 10 >= high * 9


def choose_encoding(data: bytes, claimed: str) -> tuple[str, str | None]:
    """The encoding to read ``data`` (all field bytes of one record) with, and a warning when the
    record's claim (``"utf-8"``, ``MARC8`` or ``"unknown"``) was overruled."""
    if data.isascii():
        return "ascii", None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if claimed == MARC8 and b"\x1b" not in data:
            return "utf-8", None  # flagged MARC-8 but valid UTF-8: a common exporter mistake
        if claimed != MARC8:
            return "utf-8", None
    if b"\x1b" not in data and _looks_gb(data):
        if claimed == "unknown":
            return "gb18030", None
        return "gb18030", f"record claims {_label(claimed)} but its text is GB18030 (GBK)"
    if claimed == "unknown":
        return "utf-8", None  # fails on the bad field with a precise message
    return claimed, None


def decode(data: bytes, encoding: str) -> str:
    """Decode one field (or subfield) strictly; raises ``DecodeProblem``."""
    if encoding == MARC8:
        problem = marc8_problem(data)
        if problem:
            raise DecodeProblem(f"is not valid MARC-8 ({problem})")
        return str(MARC8ToUnicode(quiet=True).translate(data))  # type: ignore[no-untyped-call]
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        byte = data[exc.start]
        raise DecodeProblem(
            f"is not valid {_label(encoding)} (byte 0x{byte:02X} at position {exc.start})"
        ) from None


def _label(encoding: str) -> str:
    names = {"utf-8": "UTF-8", "gb18030": "GB18030", "ascii": "ASCII", MARC8: "MARC-8"}
    return names.get(encoding, encoding)


_G0_INTERMEDIATES = (b"(", b",", b"$", b"$,")
_G1_INTERMEDIATES = (b")", b"-", b"$)", b"$-")


def marc8_problem(data: bytes) -> str | None:
    """Why ``data`` is not valid MARC-8 (an unknown escape or character), or None.

    Mirrors the state machine of ``pymarc.marc8.MARC8ToUnicode``, which writes problems to
    stderr and substitutes a space instead of reporting them.
    """
    g0, g1 = 0x42, 0x45
    pos, n = 0, len(data)
    while pos < n:
        byte = data[pos]
        if byte == 0x1B:
            for seq in (*_G0_INTERMEDIATES, *_G1_INTERMEDIATES):
                if data.startswith(seq, pos + 1) and pos + 1 + len(seq) < n:
                    final = data[pos + 1 + len(seq)]
                    if final not in CODESETS:
                        return f"unknown character set 0x{final:02X} in escape at position {pos}"
                    if seq in _G0_INTERMEDIATES:
                        g0 = final
                    else:
                        g1 = final
                    pos += 2 + len(seq)
                    break
            else:
                final = data[pos + 1] if pos + 1 < n else -1
                if final in CODESETS or final == 0x73:
                    g0 = 0x42 if final == 0x73 else final
                    pos += 2
                    continue
                shown = f"0x{final:02X}" if final >= 0 else "end of field"
                return f"invalid escape sequence ESC {shown} at position {pos}"
            continue
        if g0 == 0x31:
            if pos + 3 > n:
                return f"truncated East Asian character at position {pos}"
            code = (data[pos] << 16) | (data[pos + 1] << 8) | data[pos + 2]
            if code not in CODESETS[0x31] and code not in ODD_MAP:
                return f"unknown East Asian character 0x{code:06X} at position {pos}"
            pos += 3
            continue
        pos += 1
        if byte < 0x20 or 0x80 < byte < 0xA0:
            continue
        table = CODESETS[g1] if byte > 0x80 else CODESETS[g0]
        if byte not in table and byte not in ODD_MAP:
            return f"byte 0x{byte:02X} at position {pos - 1} is not a MARC-8 character"
    return None


def nfc(text: str) -> str:
    """``text`` in Unicode NFC (LC's UTF-8 records are decomposed)."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)
