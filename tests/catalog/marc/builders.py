"""Test data for the MARC codecs: raw ISO 2709 built byte by byte, in any encoding."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "data" / "marc"
PYMARC = DATA / "pymarc-test"


def field(ind: str, *subfields: str) -> str:
    """A data field: ``field("10", "aTitle", "cResp")``."""
    return ind + "".join("\x1f" + s for s in subfields)


def iso2709(
    fields: list[tuple[str, str]],
    *,
    encoding: str = "utf-8",
    leader: str = "00000nam a2200000   4500",
) -> bytes:
    """One ISO 2709 record with correct lengths, the fields encoded with ``encoding``."""
    directory = b""
    body = b""
    for tag, text in fields:
        raw = text.encode(encoding) + b"\x1e"
        directory += f"{tag}{len(raw):04d}{len(body):05d}".encode()
        body += raw
    base = 24 + len(directory) + 1
    total = base + len(body) + 1
    head = f"{total:05d}{leader[5:12]}{base:05d}{leader[17:]}".encode()
    return head + directory + b"\x1e" + body + b"\x1d"


def marc21(title: str, control: str = "rec1", **extra: str) -> bytes:
    """A small MARC21 record (UTF-8) with 001 ``control`` and 245 $a ``title``."""
    fields = [("001", control), ("245", field("10", "a" + title))]
    fields += [(tag, value) for tag, value in extra.items()]
    return iso2709(fields)
