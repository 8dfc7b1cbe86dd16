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

    def text(self, value: str) -> str:
        if "reader:" not in value:  # most strings: skip the regular expression
            return value
        return _READER.sub(lambda m: self.reader(m.group(1)), value)

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


def _timestamp(at: datetime) -> str:
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
_DIGITS = re.compile(r"\d+")


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"  # what \b in a str pattern takes for a word character


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
            "at": _timestamp(at),
            "actor": actor,
            "branch": branch,
            "subject": subject,
            "payload": payload,
        }
    )
    if "reader:" not in text:
        return text.encode()
    if "\\" in text or "reader:" in type or (branch is not None and "reader:" in branch):
        return _encode_walk(pseudonyms, seq, type, at, actor, branch, subject, payload)
    parts = text.split("reader:")
    out = [parts[0]]
    last = len(parts) - 1
    offset = len(parts[0])  # where parts[i] starts in ``text``
    for i in range(1, len(parts)):
        part = parts[i]
        offset += 7  # len("reader:")
        # The characters around this "reader:<digits>" in the original text, for \b.
        prev = parts[i - 1][-1:] or (":" if i > 1 else "")
        digits = _DIGITS.match(part)
        if digits is not None:
            end = digits.end()
            nxt = part[end : end + 1] or ("r" if i < last else "")
        if digits is None or (prev and _is_word(prev)) or (nxt and _is_word(nxt)):
            out.append("reader:")  # not a reader reference: \b would not match here either
            out.append(part)
            offset += len(part)
            continue
        quote = text.find('"', offset + end)  # the end of the string it is in (no escapes)
        if text[quote + 1 : quote + 2] == ":":  # the reference is in a key: sorting may change
            return _encode_walk(pseudonyms, seq, type, at, actor, branch, subject, payload)
        out.append(pseudonyms.reader(digits.group()))
        out.append(part[end:])
        offset += len(part)
    return "".join(out).encode()


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
        "at": _timestamp(at),
        "actor": pseudonyms.value(actor),
        "branch": branch,
        "subject": pseudonyms.value(subject),
        "payload": pseudonyms.value(payload),
    }
    return _CANONICAL.encode(doc).encode()


def decode(data: bytes) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(data)
    return doc
