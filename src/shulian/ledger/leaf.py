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
from datetime import UTC, datetime
from typing import Any

from shulian.core.events import Event

VERSION = 1
_READER = re.compile(r"\breader:(\d+)\b")


class Pseudonymizer:
    def __init__(self, secret: str) -> None:
        self._key = hmac.new(secret.encode(), b"shulian.ledger.pseudonym", hashlib.sha256).digest()

    def reader(self, reader_id: int | str) -> str:
        digest = hmac.new(self._key, f"reader:{reader_id}".encode(), hashlib.sha256).hexdigest()
        return f"reader:~{digest[:16]}"

    def text(self, value: str) -> str:
        return _READER.sub(lambda m: self.reader(m.group(1)), value)

    def state(self, key: str, digest: Any) -> Any:
        """A row's state digest as a leaf shows it: keyed when the row is a reader's."""
        if not key.startswith("reader:") or not isinstance(digest, str):
            return digest
        mac = hmac.new(self._key, f"state:{key}:{digest}".encode(), hashlib.sha256)
        return mac.hexdigest()[:32]

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value


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
    """:func:`encode` from an event's columns (the audit reads them without ORM objects)."""
    payload = payload or {}
    states = payload.get("states")
    if isinstance(states, dict) and any(str(k).startswith("reader:") for k in states):
        payload = {**payload, "states": {k: pseudonyms.state(k, v) for k, v in states.items()}}
    doc = {
        "v": VERSION,
        "seq": seq,
        "type": type,
        "at": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor": pseudonyms.value(actor),
        "branch": branch,
        "subject": pseudonyms.value(subject),
        "payload": pseudonyms.value(payload),
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def decode(data: bytes) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(data)
    return doc
