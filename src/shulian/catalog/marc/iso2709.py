"""ISO 2709 (the binary MARC exchange structure): splitting a stream into records, parsing one
record into a ``RawRecord``, and writing one back.

Structure: a 24-byte leader (00-04 record length, 10 indicator count, 11 subfield code count,
12-16 base address of data, 20-23 entry map ``4500``), a directory of 12-byte entries (tag,
4-digit field length, 5-digit start) ended by a field terminator 0x1E, then the fields, each ended
by 0x1E, and the record terminator 0x1D. Data fields hold two indicators and subfields introduced
by 0x1F and a one-byte code.

Reading rules:

- Records are delimited by the leader's length when the byte there is the record terminator,
  else by the next terminator (with a warning). Bytes between records that are only whitespace
  or NULs (line breaks added by some exporters) are skipped.
- A record can be at most 99,999 bytes (five digits of length) and a field 9,999 bytes (four
  digits). When no terminator comes within 99,999 bytes (a damaged length, a runaway field), the
  record is rejected naming the unterminated field when the directory can be read, and the reader
  skips to the next terminator reading in fixed-size chunks: bounded memory, linear time.
- Any structural fault (leader, base address, directory, missing indicators, subfield codes other
  than ASCII letters and digits, undecodable bytes) rejects that record only.
- When the directory's offsets disagree with the field terminators but the number of fields
  matches, fields are read by terminator with a warning (editors that count characters, not bytes).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import accumulate
from typing import BinaryIO

from shulian.catalog.marc.encoding import MARC8, DecodeProblem, choose_encoding, decode
from shulian.catalog.marc.model import RawField, RawRecord, RecordError

__all__ = ["MAX_FIELD", "MAX_RECORD", "Chunk", "parse_record", "split_records", "write_record"]

RT, FT, SF = 0x1D, 0x1E, 0x1F
MAX_RECORD = 99_999
MAX_FIELD = 9_999
_READ = 1 << 20
_JUNK = frozenset(b" \t\r\n\x00\x1a")
_CODES = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_ENTRY = re.compile(r"([0-9A-Za-z]{3})(\d{4})(\d{5})")
_BAD_CODE = re.compile(rb"\x1f(?![0-9A-Za-z])")
_INDICATORS = frozenset(" 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ|#")


@dataclass(slots=True)
class Chunk:
    """The bytes of one record as delimited in the stream, or why none could be delimited."""

    number: int
    offset: int
    data: bytes
    problem: str | None = None
    warnings: list[str] = field(default_factory=list)


class _Buffer:
    """A window over a binary stream: reads 1 MiB at a time, drops what has been consumed."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.buf = b""
        self.pos = 0
        self.start = 0  # stream offset of buf[0]
        self.eof = False

    def fill(self, need: int) -> bool:
        """Make ``need`` bytes available from ``pos``; False when the stream ends first."""
        while len(self.buf) - self.pos < need and not self.eof:
            more = self.stream.read(max(_READ, need))
            if not more:
                self.eof = True
                break
            self.start += self.pos
            self.buf = self.buf[self.pos :] + more
            self.pos = 0
        return len(self.buf) - self.pos >= need

    def find_terminator(self, limit: int) -> int:
        """Index in ``buf`` of the next record terminator within ``limit`` bytes, or -1."""
        scanned = 0
        while True:
            end = min(len(self.buf), self.pos + limit)
            idx = self.buf.find(b"\x1d", self.pos + scanned, end)
            if idx >= 0:
                return idx
            scanned = end - self.pos
            if scanned >= limit or not self.fill(scanned + 1):
                return -1

    def skip_to_terminator(self) -> int:
        """Discard bytes up to and including the next terminator (or to the end); bytes skipped."""
        skipped = 0
        while True:
            idx = self.buf.find(b"\x1d", self.pos)
            if idx >= 0:
                skipped += idx + 1 - self.pos
                self.pos = idx + 1
                return skipped
            skipped += len(self.buf) - self.pos
            self.pos = len(self.buf)
            if not self.fill(1):
                return skipped


def split_records(stream: BinaryIO) -> Iterator[Chunk]:
    """Split an ISO 2709 stream into records (see the module rules); never raises on bad data."""
    b = _Buffer(stream)
    number = 0
    while True:
        while True:  # skip inter-record whitespace
            if not b.fill(1):
                return
            if b.buf[b.pos] in _JUNK:
                b.pos += 1
                continue
            break
        number += 1
        b.fill(24)
        offset = b.start + b.pos
        head = b.buf[b.pos : b.pos + 5]
        length = int(head) if len(head) == 5 and head.isdigit() else 0
        if length >= 25 and b.fill(length) and b.buf[b.pos + length - 1] == RT:
            data = b.buf[b.pos : b.pos + length]
            if data.find(b"\x1d") == length - 1:
                b.pos += length
                yield Chunk(number, offset, data)
                continue
        idx = b.find_terminator(MAX_RECORD + 1)
        if idx >= 0:
            data = b.buf[b.pos : idx + 1]
            b.pos = idx + 1
            chunk = Chunk(number, offset, data)
            if length and length != len(data):
                chunk.warnings.append(
                    f"the leader gives a record length of {length} bytes but the record "
                    f"terminator comes after {len(data)}"
                )
            elif not length:
                chunk.warnings.append(f"the leader's record length {head!r} is not a number")
            yield chunk
            continue
        if b.eof and len(b.buf) - b.pos <= MAX_RECORD:
            data = b.buf[b.pos :]
            b.pos = len(b.buf)
            yield Chunk(
                number,
                offset,
                data,
                problem=f"truncated: the file ends {len(data)} bytes into the record "
                + (f"(the leader gives {length})" if length else "(no record terminator)"),
            )
            return
        head_bytes = b.buf[b.pos : b.pos + MAX_RECORD]
        skipped = b.skip_to_terminator()
        yield Chunk(number, offset, head_bytes, problem=_runaway(head_bytes, skipped))


def _runaway(head: bytes, total: int) -> str:
    """Why a record has no terminator within 99,999 bytes, naming the field when possible."""
    tail = f"{total:,} bytes to the next record terminator; ISO 2709 allows at most {MAX_RECORD:,}"
    try:
        base = int(head[12:17])
        directory = head[24 : base - 1]
        for i in range(0, len(directory) - 11, 12):
            tag = directory[i : i + 3].decode("ascii")
            start = base + int(directory[i + 7 : i + 12])
            if head.find(b"\x1e", start) < 0:
                return f"field {tag} has no field terminator: the record runs {tail}"
    except (ValueError, UnicodeDecodeError):
        pass
    return f"no record terminator: the record runs {tail}"


def _fail(reason: str, source_id: str | None = None) -> RecordError:
    return RecordError(reason, source_id)


def parse_record(
    data: bytes,
    *,
    encoding: str | None = None,
    unimarc: bool = False,
    warnings: list[str] | None = None,
    wanted: frozenset[str] | None = None,
) -> RawRecord:
    """Parse one record (its bytes with or without the final 0x1D) into a ``RawRecord``.

    ``encoding`` overrides the record's own claim (see ``encoding.choose_encoding``). Raises
    ``RecordError`` with a plain-English reason; warnings are appended to ``warnings``.
    ``wanted`` limits the fields built to those tags (the mapping's), for speed; the structure,
    encoding and subfield codes of the whole record are checked either way.
    """
    if len(data) < 25:
        raise _fail(f"only {len(data)} bytes: shorter than a leader and a directory")
    try:
        leader = data[:24].decode("ascii")
    except UnicodeDecodeError:
        raise _fail("the leader contains non-ASCII bytes") from None
    end = len(data) - 1 if data[-1] == RT else len(data)
    base_text = leader[12:17]
    if not base_text.isdigit():
        raise _fail(f"the base address of data {base_text!r} (leader/12-16) is not a number")
    base = int(base_text)
    if base > end:
        raise _fail(f"the base address {base} is past the end of the record ({end} bytes)")
    if base < 25 or data[base - 1] != FT:
        found = data.find(b"\x1e", 24)
        raise _fail(
            f"the base address {base} is wrong: the directory ends at byte {found + 1}"
            if found > 0
            else f"the base address {base} is wrong and no directory terminator was found"
        )
    directory = data[24 : base - 1]
    if not directory:
        raise _fail("the record has no fields")
    if len(directory) % 12:
        raise _fail(f"the directory is {len(directory)} bytes, not a multiple of 12")
    source_id = _peek_001(data, directory, base)
    tagged = _fast_split(data, base, end, directory)
    if tagged is None:
        tagged = _slow_split(data, base, end, directory, source_id, warnings)

    claimed = "unknown" if unimarc else ("utf-8" if leader[9] == "a" else MARC8)
    if unimarc and not encoding:
        claimed = _unimarc_charset(tagged)
    if encoding:
        enc = encoding
    else:
        enc, note = choose_encoding(data[base:end], claimed)
        if note and warnings is not None:
            warnings.append(note)

    if enc != MARC8 and _BAD_CODE.search(data, base, end) is None:
        try:
            fields = _fast_fields(tagged, data[base:end], enc, wanted)
        except (UnicodeDecodeError, _Irregular):
            pass  # the careful loop below names the problem
        else:
            return RawRecord(leader, fields)
    return RawRecord(leader, _careful_fields(tagged, enc, source_id, warnings))


class _Irregular(Exception):
    """A field the fast path does not handle (indicators missing or longer than two)."""


def _fast_split(
    data: bytes, base: int, end: int, directory: bytes
) -> list[tuple[str, bytes]] | None:
    """Fields by terminator when the directory describes exactly them in order (the usual case),
    checked with C-level operations only; None when anything differs."""
    try:
        text = directory.decode("ascii")
    except UnicodeDecodeError:
        return None
    entries = _ENTRY.findall(text)
    if len(entries) * 12 != len(text):
        return None
    parts = data[base:end].split(b"\x1e")
    if len(parts) != len(entries) + 1 or parts[-1]:
        return None
    parts.pop()
    lengths = [len(p) + 1 for p in parts]
    if lengths != [int(e[1]) for e in entries]:
        return None
    if list(accumulate(lengths, initial=0))[:-1] != [int(e[2]) for e in entries]:
        return None
    return [(e[0], p) for e, p in zip(entries, parts, strict=True)]


def _fast_fields(
    tagged: list[tuple[str, bytes]], body: bytes, enc: str, wanted: frozenset[str] | None
) -> list[RawField]:
    """Build fields from the whole body decoded at once (a field terminator never occurs inside
    a UTF-8 or GB18030 character, so the decoded text splits into the same fields)."""
    texts = body.decode(enc).split("\x1e")
    fields: list[RawField] = []
    append = fields.append
    for (tag, _raw), text in zip(tagged, texts, strict=False):
        if wanted is not None and tag not in wanted:
            continue
        if tag[:2] == "00":
            append(RawField(tag, data=text))
            continue
        if text[2:3] != "\x1f":
            if not tag.isdigit() and "\x1f" not in text:
                append(RawField(tag, data=text))
                continue
            raise _Irregular
        ind1, ind2 = text[0], text[1]
        if ind1 not in _INDICATORS or ind2 not in _INDICATORS:
            raise _Irregular
        append(RawField(tag, ind1, ind2, [(p[0], p[1:]) for p in text[3:].split("\x1f")]))
    return fields


def _slow_split(
    data: bytes,
    base: int,
    end: int,
    directory: bytes,
    source_id: str | None,
    warnings: list[str] | None,
) -> list[tuple[str, bytes]]:
    """Fields by directory entry, with a precise reason for the first fault."""
    entries: list[tuple[str, int, int]] = []
    for i in range(0, len(directory), 12):
        entry = directory[i : i + 12]
        tag_b, num = entry[:3], entry[3:]
        if not (tag_b.isalnum() and tag_b.isascii()):
            raise _fail(f"directory entry {i // 12 + 1} has a bad tag {tag_b!r}", source_id)
        if not num.isdigit():
            raise _fail(
                f"directory entry {i // 12 + 1} ({tag_b!r}) has a bad length or start", source_id
            )
        entries.append((tag_b.decode("ascii"), int(num[:4]), int(num[4:])))

    tagged: list[tuple[str, bytes]] = []
    problem = ""
    for n, (tag, length, start) in enumerate(entries, 1):
        stop = base + start + length
        if stop > end:
            problem = f"directory entry {n} ({tag}) points past the end of the record"
            break
        if length == 0 or data[stop - 1] != FT:
            problem = f"field {tag} (directory entry {n}) does not end where the directory says"
            break
        tagged.append((tag, data[base + start : stop - 1]))
    if not problem:
        return tagged
    parts = data[base:end].split(b"\x1e")
    if len(parts) == len(entries) + 1 and not parts[-1]:
        if warnings is not None:
            warnings.append(f"{problem}; fields read by their terminators instead")
        return [(e[0], p) for e, p in zip(entries, parts, strict=False)]
    raise _fail(problem, source_id)


def _careful_fields(
    tagged: list[tuple[str, bytes]],
    enc: str,
    source_id: str | None,
    warnings: list[str] | None,
) -> list[RawField]:
    """Every field, checked one by one: the path for MARC-8 and for records with a fault."""
    fields: list[RawField] = []
    for tag, raw in tagged:
        try:
            if tag[:2] == "00" or (not tag.isdigit() and b"\x1f" not in raw):
                fields.append(RawField(tag, data=decode(raw, enc)))
                continue
            if len(raw) < 2 or SF in raw[:2]:
                raise _fail(f"field {tag} has no indicators (bad indicator)", source_id)
            ind = raw[:2].decode("latin-1")
            if ind[0] not in _INDICATORS or ind[1] not in _INDICATORS:
                raise _fail(f"field {tag} has a bad indicator {ind!r}", source_id)
            if len(raw) > 2 and raw[2] != SF:
                extra = raw.find(b"\x1f")
                if extra < 0:
                    raise _fail(f"field {tag} has no subfields", source_id)
                if warnings is not None:
                    warnings.append(
                        f"field {tag} has {extra} indicator characters; kept the first two"
                    )
                raw = raw[:2] + raw[extra:]
            subfields: list[tuple[str, str]] = []
            if enc == MARC8:
                for part in raw[3:].split(b"\x1f"):
                    code = chr(part[0]) if part else ""
                    if code not in _CODES:
                        raise _fail(_bad_code(tag, part), source_id)
                    subfields.append((code, decode(part[1:], enc)))
            else:
                for part in raw[3:].split(b"\x1f"):
                    code = chr(part[0]) if part else ""
                    if code not in _CODES:
                        raise _fail(_bad_code(tag, part), source_id)
                    subfields.append((code, decode(part[1:], enc)))
            fields.append(RawField(tag, ind[0], ind[1], subfields))
        except DecodeProblem as exc:
            raise _fail(f"field {tag} {exc}", source_id) from None
    return fields


def _peek_001(data: bytes, directory: bytes, base: int) -> str | None:
    """The 001 (control number) if its directory entry is readable, to name a rejected record."""
    for i in range(0, len(directory) - 11, 12):
        if directory[i : i + 3] == b"001" and directory[i + 3 : i + 12].isdigit():
            start = base + int(directory[i + 7 : i + 12])
            raw = data[start : start + int(directory[i + 3 : i + 7])]
            return raw.rstrip(b"\x1e ").decode("utf-8", "replace").strip() or None
    return None


def _bad_code(tag: str, part: bytes) -> str:
    if not part:
        return f"field {tag} has an empty subfield (no subfield code)"
    return f"field {tag} has a bad subfield code 0x{part[0]:02X} (not an ASCII letter or digit)"


def _unimarc_charset(tagged: list[tuple[str, bytes]]) -> str:
    """The encoding UNIMARC field 100 $a/26-27 declares: ``50`` (ISO 10646) is UTF-8; other
    codes (ISO 646, ISO 5426, the GB sets of CNMARC) are left to detection."""
    for tag, raw in tagged:
        if tag == "100":
            pos = raw.find(b"\x1fa")
            if pos >= 0 and raw[pos + 2 + 26 : pos + 2 + 28] == b"50":
                return "utf-8"
            break
    return "unknown"


def write_record(record: RawRecord, *, unimarc: bool = False) -> bytes:
    """Encode a ``RawRecord`` as ISO 2709 in UTF-8, computing the record length, base address
    and directory; a MARC21 leader gets 09 ``a`` (UTF-8), a UNIMARC one keeps 09 blank (its
    character set is declared in field 100). Raises ``RecordError`` when a field exceeds 9,999 bytes
    or the record 99,999 (the limits of the structure)."""
    directory = bytearray()
    body = bytearray()
    for f in record.fields:
        if f.data is not None:
            raw = f.data.encode("utf-8") + b"\x1e"
        else:
            raw = (f.ind1 + f.ind2).encode("utf-8") + b"".join(
                b"\x1f" + (c + v).encode("utf-8") for c, v in f.subfields
            )
            raw += b"\x1e"
        if len(raw) > MAX_FIELD:
            raise RecordError(f"field {f.tag} is {len(raw):,} bytes; the limit is {MAX_FIELD:,}")
        directory += f"{f.tag[:3]:0>3}{len(raw):04d}{len(body):05d}".encode("ascii")
        body += raw
    base = 24 + len(directory) + 1
    total = base + len(body) + 1
    if total > MAX_RECORD:
        raise RecordError(f"the record is {total:,} bytes; the limit is {MAX_RECORD:,}")
    lead = (record.leader + " " * 24)[:24]
    flag = " " if unimarc else "a"
    leader = f"{total:05d}{lead[5:9]}{flag}22{base:05d}{lead[17:20]}4500"
    return leader.encode("ascii") + bytes(directory) + b"\x1e" + bytes(body) + b"\x1d"
