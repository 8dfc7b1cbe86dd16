"""The canonical leaf encoding of an event, with readers under a keyed pseudonym.

A leaf is UTF-8 JSON with sorted keys and no insignificant whitespace::

    {"actor":..,"at":"2026-11-21T09:30:00.000000Z","branch":..,"payload":{..},"seq":42,
     "subject":..,"type":"circulation.checked_out","v":1}

Every ``reader:<id>`` in the actor, the subject or any string of the payload becomes
``reader:~<16 hex>``, an HMAC-SHA256 pseudonym under the library's secret: a published proof
shows *that* a reader borrowed, never *who*, and erasing a reader's personal data leaves the tree
intact. Services refer to readers in payloads only as ``reader:<id>`` strings, so this one rule
covers them all.

A payload's ``states`` map (row key -> digest of the row after the change, which the audit
replays) may name a reader row; that digest covers the reader's name and contacts, so it enters
the leaf keyed as well: ``HMAC(secret, key || digest)``, and nobody can test a guess of a reader's
name against a published leaf.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from shulian.core.events import Event

VERSION = 1
_ZERO = timedelta(0)
_READER = re.compile(r"\breader:(\d+)\b")


_PLAIN = (int, float, bool, type(None))


class Pseudonymizer:
    def __init__(self, secret: str) -> None:
        self._key = hmac.new(secret.encode(), b"shulian.ledger.pseudonym", hashlib.sha256).digest()
        self._seen: dict[str, str] = {}

    def reader(self, reader_id: int | str) -> str:
        ref = f"reader:{reader_id}"
        found = self._seen.get(ref)
        if found is None:
            digest = hmac.new(self._key, ref.encode(), hashlib.sha256).hexdigest()
            found = f"reader:~{digest[:16]}"
            if len(self._seen) < 1_000_000:
                self._seen[ref] = found
        return found

    def reader_match(self, match: re.Match[str]) -> str:
        return self.reader(match.group(1))

    def reader_match_at_word(self, match: re.Match[str]) -> str:
        """:meth:`reader_match` for a pattern without its leading ``\\b``: a reference glued
        to the word before it stays as it is, as ``\\breader`` would not have matched it."""
        start = match.start()
        if start:
            ch = match.string[start - 1]
            if ch.isalnum() or ch == "_":  # what \b takes for a word character
                return match.group()
        return self.reader(match.group(1))

    def text(self, value: str) -> str:
        if "reader:" not in value:  # most strings: skip the regular expression
            return value
        return _READER.sub(self.reader_match, value)

    def state(self, key: str, digest: Any) -> Any:
        """A row's state digest as a leaf shows it: keyed when the row is a reader's."""
        if not key.startswith("reader:") or not isinstance(digest, str):
            return digest
        mac = hmac.new(self._key, f"state:{key}:{digest}".encode(), hashlib.sha256)
        return mac.hexdigest()[:32]

    def value(self, value: Any) -> Any:
        """``value`` with every ``reader:<id>`` in a string (or a key) pseudonymised. Numbers,
        booleans and null pass through untouched; the audit runs this over every event, hence
        the type tests before the general case."""
        kind = type(value)
        if kind is str:
            return self.text(value)
        if kind is dict:
            text, walk = self.text, self.value
            return {
                (text(k) if type(k) is str else text(str(k))): (v if type(v) in _PLAIN else walk(v))
                for k, v in value.items()
            }
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value


def timestamp(at: datetime) -> str:
    """``2026-11-21T09:30:00.000000Z``: UTC, always six fractional digits."""
    if at.utcoffset() != _ZERO:
        at = at.astimezone(UTC)
    return at.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def encode(event: Event, pseudonyms: Pseudonymizer) -> bytes:
    """The leaf bytes of ``event``; the same event always encodes to the same bytes."""
    return encode_fields(
        pseudonyms,
        seq=event.seq,
        type=event.type,
        at=event.occurred_at,
        actor=event.actor,
        branch=event.branch,
        subject=event.subject,
        payload=event.payload,
    )


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def encode_fields(
    pseudonyms: Pseudonymizer,
    *,
    seq: int,
    type: str,
    at: datetime,
    actor: str | None,
    branch: str | None,
    subject: str | None,
    payload: dict[str, Any] | None,
) -> bytes:
    """:func:`encode` from an event's columns (the audit reads them without ORM objects).

    The definition is :func:`_encode_walk`: pseudonymise every string of the event, then write
    canonical JSON. Re-deriving ten million leaves that way spends most of its time walking
    payloads, so this writes the JSON first and substitutes in its text, which gives the same
    bytes whenever (checked here) the text has no escapes, no key names a reader and neither
    the type nor the branch does; anything else takes the walk. Payload keys are strings, as
    everything read back from the JSON column is.
    """
    payload = payload or {}
    text = _CANONICAL.encode(
        {
            "v": VERSION,
            "seq": seq,
            "type": type,
            "at": timestamp(at),
            "actor": actor,
            "branch": branch,
            "subject": subject,
            "payload": payload,
        }
    )
    out = _substitute(pseudonyms, text, type, branch)
    if out is None:
        return _encode_walk(pseudonyms, seq, type, at, actor, branch, subject, payload)
    return out


_STRING = json.encoder.encode_basestring


def encode_stored(
    pseudonyms: Pseudonymizer,
    *,
    seq: int,
    type: str,
    at: str,
    actor: str | None,
    branch: str | None,
    subject: str | None,
    payload: str,
) -> bytes | None:
    """The leaf of an event whose payload is stored as canonical JSON text (every JSON column
    is written so), built around that text without parsing it; ``at`` is the leaf's timestamp
    text. None when the text cannot be used as it is (written before payloads were stored
    canonically, or holding what the walk must see): then the caller takes
    :func:`encode_fields`. Bytes returned are what :func:`encode_fields` gives for the parsed
    payload whenever the payload text is canonical; a caller comparing them with a stored leaf
    can only get a false mismatch (and then decides with :func:`encode_fields`), never a false
    match, since the result is canonical JSON only when the text was.
    """
    text = "".join(
        (
            '{"actor":', "null" if actor is None else _STRING(actor),
            ',"at":"', at,
            '","branch":', "null" if branch is None else _STRING(branch),
            ',"payload":', payload,
            ',"seq":', str(seq),
            ',"subject":', "null" if subject is None else _STRING(subject),
            ',"type":', _STRING(type),
            ',"v":', _VERSION_TEXT, "}",
        )
    )  # fmt: skip
    return _substitute(pseudonyms, text, type, branch)


_VERSION_TEXT = str(VERSION)


def _substitute(
    pseudonyms: Pseudonymizer, text: str, type: str, branch: str | None
) -> bytes | None:
    """``text`` (a canonical leaf with readers in the clear) with every reader reference
    pseudonymised, as UTF-8; None where only the walk gives the right bytes."""
    if "reader:" not in text:
        return text.encode()
    if "\\" in text or "reader:" in type or (branch is not None and "reader:" in branch):
        return None
    if _READER_IN_KEY.search(text):  # a key may name a reader: sorting may change
        return None
    return _READER_AFTER_WORD.sub(pseudonyms.reader_match_at_word, text).encode()


# Patterns that begin with their literal run ten times faster than ``\breader``, so the
# boundary before "reader" is checked by hand. In canonical JSON without escapes a string runs
# to the next quote, and it is a key when a colon follows that quote (this over-approximates:
# a false alarm only sends the event to the walk).
_READER_IN_KEY = re.compile(r'reader:\d+\b[^"]*":')
_READER_AFTER_WORD = re.compile(r"reader:(\d+)\b")


def _encode_walk(
    pseudonyms: Pseudonymizer,
    seq: int,
    type: str,
    at: datetime,
    actor: str | None,
    branch: str | None,
    subject: str | None,
    payload: dict[str, Any],
) -> bytes:
    """The canonical leaf encoding, by definition."""
    states = payload.get("states")
    if isinstance(states, dict) and any(str(k).startswith("reader:") for k in states):
        payload = {**payload, "states": {k: pseudonyms.state(k, v) for k, v in states.items()}}
    doc = {
        "v": VERSION,
        "seq": seq,
        "type": type,
        "at": timestamp(at),
        "actor": pseudonyms.value(actor),
        "branch": branch,
        "subject": pseudonyms.value(subject),
        "payload": pseudonyms.value(payload),
    }
    return _CANONICAL.encode(doc).encode()


def decode(data: bytes) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(data)
    return doc
