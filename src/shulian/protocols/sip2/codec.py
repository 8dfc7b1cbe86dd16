"""SIP2 messages on the wire: parsing requests, formatting responses.

A message is ``<code><fixed fields><variable fields>[AY<seq>][AZ<checksum>]`` ended by CR. Fixed
fields have set widths per message; variable fields are ``<tag><value>|``. The checksum is the
two's complement of the 16-bit sum of everything before it, up to and including ``AZ``.

What we accept, deliberately (real kiosks and the ``sip2`` client differ from the standard):

- a checksum computed over the bytes on the wire (the standard) **or** over Unicode characters
  (the ``sip2`` client, and kiosks that sum decoded text), in upper or lower case, with or without
  zero padding (``AZ7A3`` as well as ``AZ07A3``);
- no checksum at all, and no sequence number (error detection switched off on the kiosk);
- a transaction date left out entirely where it is the only fixed field (``65AO...``, as the
  ``sip2`` client sends Renew All), and blank fixed fields (18 blanks as a due date);
- empty variable fields (``AD|``), and a missing ``|`` before ``AY``.

What we send: the checksum over the bytes in the kiosk's encoding, four upper-case hex digits,
and the request's sequence number echoed, both only when the request carried them. Every
response stays under :data:`MAX_RESPONSE_BYTES` (item lists are cut first, then long texts),
because common clients read a response with a single ``recv(4096)``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

TERMINATOR = b"\r"
MAX_RESPONSE_BYTES = 4000
MAX_FIELD_CHARS = 255  # the standard's limit for a variable field
DATE_WIDTH = 18

# Fixed fields of each request we answer, in order, with their widths.
REQUEST_LAYOUTS: dict[str, tuple[tuple[str, int], ...]] = {
    "93": (("uid_algorithm", 1), ("pwd_algorithm", 1)),
    "99": (("status_code", 1), ("max_print_width", 3), ("protocol_version", 4)),
    "97": (),
    "23": (("language", 3), ("transaction_date", DATE_WIDTH)),
    "63": (("language", 3), ("transaction_date", DATE_WIDTH), ("summary", 10)),
    "11": (
        ("sc_renewal_policy", 1),
        ("no_block", 1),
        ("transaction_date", DATE_WIDTH),
        ("nb_due_date", DATE_WIDTH),
    ),
    "09": (("no_block", 1), ("transaction_date", DATE_WIDTH), ("return_date", DATE_WIDTH)),
    "29": (
        ("third_party_allowed", 1),
        ("no_block", 1),
        ("transaction_date", DATE_WIDTH),
        ("nb_due_date", DATE_WIDTH),
    ),
    "65": (("transaction_date", DATE_WIDTH),),
    "17": (("transaction_date", DATE_WIDTH),),
    "15": (("hold_mode", 1), ("transaction_date", DATE_WIDTH)),
    "37": (
        ("transaction_date", DATE_WIDTH),
        ("fee_type", 2),
        ("payment_type", 2),
        ("currency_type", 3),
    ),
    "35": (("transaction_date", DATE_WIDTH),),
}

# Repeated item lines a response may carry (patron information, renew all): dropped first when a
# response would not fit.
ITEM_TAGS = frozenset({"AS", "AT", "AU", "AV", "BU", "CD", "BM", "BN"})
# Texts that may be shortened, most expendable first.
CLIPPABLE_TAGS = ("AG", "AF", "AJ", "AE", "AQ", "BS", "AP")

_TAG = re.compile(r"[A-Z][A-Z0-9]")
_CHECKSUM_TAIL = re.compile(r"AZ([0-9A-Fa-f]{1,4})$")
_SEQUENCE_TAIL = re.compile(r"AY(.?)\|?$")
_ELLIPSIS = "…"


class SipFormatError(ValueError):
    """The bytes are not a message we can read (garbled, truncated, unknown code)."""


class ChecksumMismatch(SipFormatError):
    """The message arrived damaged: its AZ does not match its contents."""


@dataclass(frozen=True)
class Request:
    """A parsed request. ``sequence`` is the AY digit as sent (None when absent);
    ``checksummed`` says whether it carried AZ, so the response can mirror it."""

    code: str
    fixed: Mapping[str, str]
    fields: tuple[tuple[str, str], ...]
    sequence: str | None = None
    checksummed: bool = False

    def get(self, tag: str, default: str = "") -> str:
        """The first value of ``tag``, stripped of surrounding blanks."""
        for t, v in self.fields:
            if t == tag:
                return v.strip()
        return default

    def all(self, tag: str) -> list[str]:
        return [v for t, v in self.fields if t == tag]


@dataclass
class Response:
    """A response before encoding: its code, the fixed part already laid out, and fields."""

    code: str
    fixed: str = ""
    fields: list[tuple[str, str]] = field(default_factory=list)

    def add(self, tag: str, value: object, *, optional: bool = False) -> Response:
        text = "" if value is None else str(value)
        if not (optional and text == ""):
            self.fields.append((tag, text))
        return self


def checksum(data: bytes | str) -> int:
    """The SIP2 checksum of ``data`` (bytes, or the code points of a string)."""
    total = sum(data) if isinstance(data, bytes) else sum(map(ord, data))
    return -total & 0xFFFF


def checksum_text(data: bytes) -> str:
    return f"{checksum(data):04X}"


def guess_encoding(raw: bytes) -> str:
    """Before a kiosk has logged in its encoding is unknown: UTF-8 when the bytes are valid
    UTF-8, else GB18030 (which the GBK kiosks send)."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def parse(raw: bytes, *, encoding: str) -> Request:
    """Parse one message (without its terminator).

    Raises:
        ChecksumMismatch: AZ is present and matches neither the bytes nor the characters.
        SipFormatError: not a message we answer, or its fixed part is cut short.
    """
    raw = raw.rstrip(b"\r\n")
    text = raw.decode(encoding, errors="replace")
    if len(text) < 2 or not text[:2].isdigit():
        raise SipFormatError("no message code")
    code = text[:2]
    layout = REQUEST_LAYOUTS.get(code)
    if layout is None:
        raise SipFormatError(f"unsupported message {code}")
    fixed_end = 2 + sum(width for _, width in layout)

    checksummed = False
    m = _CHECKSUM_TAIL.search(text)
    if m and _is_field_start(text, m.start(), fixed_end):
        digits = m.group(1)
        _verify(raw[: len(raw) - len(digits)], text[: len(text) - len(digits)], digits)
        text = text[: m.start()]
        checksummed = True

    sequence = None
    m = _SEQUENCE_TAIL.search(text)
    # Right before AZ, AY<digit> is the sequence number even with no ``|`` before it (kiosks
    # leave it out); without a checksum we want the ``|``, so a value ending "AY1" stays whole.
    glued = checksummed and not m.group(0).endswith("|") if m else False
    if m and (glued or _is_field_start(text, m.start(), fixed_end)):
        sequence = m.group(1)
        if not sequence.isdigit():
            raise SipFormatError("sequence number is not a digit")
        text = text[: m.start()]

    fixed, rest = _parse_fixed(code, text[2:], layout)
    return Request(
        code=code,
        fixed=fixed,
        fields=_parse_fields(rest),
        sequence=sequence,
        checksummed=checksummed,
    )


def _is_field_start(text: str, pos: int, fixed_end: int) -> bool:
    """AY / AZ count as trailer fields only where a field may begin: after ``|``, after the
    sequence number, right after the fixed part, or where a fixed part left out begins."""
    if pos <= 2:
        return pos == 2
    before = text[pos - 1]
    return (
        before == "|" or pos == fixed_end or (pos > fixed_end and text[pos - 3 : pos - 1] == "AY")
    )


def _verify(raw_prefix: bytes, text_prefix: str, digits: str) -> None:
    sent = int(digits, 16)
    if sent not in (checksum(raw_prefix), checksum(text_prefix)):
        raise ChecksumMismatch("checksum does not match")


def _parse_fixed(
    code: str, body: str, layout: Sequence[tuple[str, int]]
) -> tuple[dict[str, str], str]:
    fixed: dict[str, str] = {}
    pos = 0
    for name, width in layout:
        rest = body[pos:]
        if width == DATE_WIDTH and len(layout) == 1 and (not rest or _TAG.match(rest[:2])):
            # A lone transaction date left out (the sip2 client's Renew All): the fields
            # begin at once, so there is nothing to read here.
            fixed[name] = ""
            continue
        if len(body) - pos < width:
            raise SipFormatError(f"message {code} is cut short in its fixed part")
        fixed[name] = body[pos : pos + width]
        pos += width
    return fixed, body[pos:]


def _parse_fields(rest: str) -> tuple[tuple[str, str], ...]:
    out = []
    for piece in rest.split("|"):
        if not piece.strip():
            continue
        tag = piece[:2]
        if not _TAG.fullmatch(tag):
            raise SipFormatError("malformed field")
        out.append((tag, piece[2:]))
    return tuple(out)


# --- responses -------------------------------------------------------------------------------


def sip_date(moment: datetime | None, tz: tzinfo) -> str:
    """``YYYYMMDDZZZZHHMMSS`` in the library's local time (blank zone, as the standard
    prefers); 18 blanks for no date."""
    if moment is None:
        return " " * DATE_WIDTH
    return moment.astimezone(tz).strftime("%Y%m%d    %H%M%S")


def yn(value: bool) -> str:
    return "Y" if value else "N"


def count4(n: int) -> str:
    """A four-digit count; the standard has no way to say more than 9999."""
    return f"{min(max(n, 0), 9999):04d}"


def clean(value: str) -> str:
    """A field value that cannot break framing: no ``|``, no CR/LF, at most 255 characters."""
    value = value.replace("|", "/").replace("\r", " ").replace("\n", " ")
    if len(value) > MAX_FIELD_CHARS:
        value = value[: MAX_FIELD_CHARS - 1] + _ELLIPSIS
    return value


def encode(
    response: Response,
    *,
    encoding: str,
    sequence: str | None = None,
    checksummed: bool = False,
    limit: int = MAX_RESPONSE_BYTES,
) -> bytes:
    """The response as bytes with its terminator, under ``limit`` bytes.

    Item lines are dropped from the end first, then the texts in :data:`CLIPPABLE_TAGS` are
    shortened; the fixed part and identifiers are never cut."""
    fields = [(tag, clean(value)) for tag, value in response.fields]
    data = _assemble(response, fields, encoding, sequence, checksummed)
    while len(data) > limit:
        items = [i for i, (tag, _) in enumerate(fields) if tag in ITEM_TAGS]
        if items:
            del fields[items[-1]]
        elif not _clip_one(fields, len(data) - limit, encoding):
            break  # nothing left that may be cut: identifiers alone never come near the limit
        data = _assemble(response, fields, encoding, sequence, checksummed)
    return data


def _clip_one(fields: list[tuple[str, str]], excess: int, encoding: str) -> bool:
    for tag in CLIPPABLE_TAGS:
        for i, (t, value) in enumerate(fields):
            if t != tag or len(value) <= 1:
                continue
            size = len(value.encode(encoding, errors="replace"))
            keep = max(size - excess - len(_ELLIPSIS.encode(encoding)), 0)
            fields[i] = (t, _clip_bytes(value, keep, encoding) + _ELLIPSIS if keep else "")
            return True
    return False


def _clip_bytes(value: str, max_bytes: int, encoding: str) -> str:
    """The longest prefix of ``value`` whose encoding fits ``max_bytes``: never half a character."""
    out = value
    while out and len(out.encode(encoding, errors="replace")) > max_bytes:
        out = out[: max(len(out) - max(1, (len(out) // 8)), 0)]
    return out


def _assemble(
    response: Response,
    fields: Sequence[tuple[str, str]],
    encoding: str,
    sequence: str | None,
    checksummed: bool,
) -> bytes:
    text = response.code + response.fixed + "".join(f"{t}{v}|" for t, v in fields)
    if sequence is not None:
        text += f"AY{sequence}"
    data = text.encode(encoding, errors="replace")
    if checksummed:
        data += b"AZ"
        data += checksum_text(data).encode("ascii")
    return data + TERMINATOR


def resend_request(*, checksummed: bool = True) -> bytes:
    """Message 96: the request arrived damaged, please send it again (never a sequence
    number)."""
    data = b"96"
    if checksummed:
        data += b"AZ" + checksum_text(data + b"AZ").encode("ascii")
    return data + TERMINATOR
