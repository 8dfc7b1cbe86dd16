"""Witness cosignatures on checkpoints, as C2SP tlog-cosignature (cosignature/v1, Ed25519).

A witness that has checked a checkpoint is consistent with everything it saw before from that
log adds one signature line to the checkpoint's note::

    — <witness name> base64(key ID (4) || timestamp, big-endian uint64 (8) || signature (64))

The signature is over ``"cosignature/v1\\ntime <timestamp>\\n"`` followed by the checkpoint body
(the note text, without any signature line), so the time is part of what is signed. The key ID is
the first four bytes of SHA-256(name || "\\n" || 0x04 || public key), and the witness's verifier
key is published as ``<name>+<key ID, 8 hex>+<base64(0x04 || public key)>``. The 0x04 keeps a
witness key apart from a log key (0x01): one can never be taken for the other.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from shulian.core.security import create_secret_file
from shulian.ledger.note import DASH, NoteError, split_note

ALG_COSIGNATURE_V1 = b"\x04"
MAX_TIMESTAMP = 2**63 - 1
KEY_FILE = "witness.key"


def cosigned_message(body: str, timestamp: int) -> bytes:
    """What a cosignature signs: the header line, the time line, then the checkpoint body."""
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise NoteError(f"cosignature time {timestamp} is out of range")
    if not body.endswith("\n"):
        raise NoteError("checkpoint body must end with a newline")
    return f"cosignature/v1\ntime {timestamp}\n{body}".encode()


def key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ALG_COSIGNATURE_V1 + public).digest()[:4]


@dataclass(frozen=True)
class Cosignature:
    """One verified cosignature: who, when (Unix seconds), and its signature line."""

    witness: str
    timestamp: int
    line: str


@dataclass(frozen=True)
class CosignerKey:
    """A witness's public key, for checking its cosignatures."""

    name: str
    public: bytes

    @property
    def id(self) -> bytes:
        return key_id(self.name, self.public)

    @property
    def vkey(self) -> str:
        data = base64.b64encode(ALG_COSIGNATURE_V1 + self.public).decode()
        return f"{self.name}+{self.id.hex()}+{data}"

    @classmethod
    def parse(cls, vkey: str) -> CosignerKey:
        """Raises: NoteError for a malformed key, a key that is not a cosignature/v1 Ed25519
        key (a log's checkpoint key, say), or one whose key ID does not match."""
        try:
            name, id_hex, data = vkey.strip().split("+", 2)
            raw = base64.b64decode(data, validate=True)
        except ValueError as exc:
            raise NoteError(f"malformed witness key: {exc}") from None
        if not name or any(c.isspace() for c in name):
            raise NoteError("witness key has no name, or a name with spaces")
        if len(raw) != 33 or raw[:1] != ALG_COSIGNATURE_V1:
            raise NoteError("not a witness key (cosignature/v1 Ed25519, type 0x04)")
        key = cls(name=name, public=raw[1:])
        if key.id.hex() != id_hex:
            raise NoteError("witness key ID does not match its name and key")
        return key

    def verify(self, note: str) -> Cosignature:
        """This witness's cosignature in ``note``.

        Raises: NoteError when the note is malformed, carries no line from this witness, or
        its line does not verify (forged, altered time, or a checkpoint changed after signing).
        """
        body, sigs = split_note(note)
        ours = [(kid, sig) for name, kid, sig in sigs if name == self.name and kid == self.id]
        if not ours:
            if any(name == self.name for name, _, _ in sigs):
                raise NoteError(f"cosignature of {self.name} is not made with its trusted key")
            raise NoteError(f"note carries no cosignature of {self.name}")
        found = []
        for kid, sig in ours:
            if len(sig) != 72:
                raise NoteError(f"cosignature of {self.name} is not a cosignature/v1 signature")
            timestamp = int.from_bytes(sig[:8], "big")
            if timestamp > MAX_TIMESTAMP:
                raise NoteError(f"cosignature of {self.name} has an impossible time")
            try:
                Ed25519PublicKey.from_public_bytes(self.public).verify(
                    sig[8:], cosigned_message(body, timestamp)
                )
            except InvalidSignature:
                raise NoteError(
                    f"cosignature of {self.name} does not verify: forged, or the checkpoint or "
                    "its time was changed after signing"
                ) from None
            found.append(Cosignature(self.name, timestamp, _line(self.name, kid + sig)))
        return max(found, key=lambda c: c.timestamp)


def _line(name: str, raw: bytes) -> str:
    return f"{DASH} {name} {base64.b64encode(raw).decode()}\n"


class Cosigner:
    """A witness's private key: cosigns checkpoints it has checked."""

    def __init__(self, name: str, private: Ed25519PrivateKey) -> None:
        self.name = name
        self._private = private
        public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key = CosignerKey(name=name, public=public)

    @classmethod
    def generate(cls, name: str) -> Cosigner:
        return cls(name, Ed25519PrivateKey.generate())

    def cosign(self, note: str, timestamp: int) -> Cosignature:
        """A cosignature on the checkpoint in ``note`` (a signed note or a bare body)."""
        body = split_note(note)[0] if "\n\n" in note else note
        sig = self._private.sign(cosigned_message(body, timestamp))
        raw = self.key.id + timestamp.to_bytes(8, "big") + sig
        return Cosignature(witness=self.name, timestamp=timestamp, line=_line(self.name, raw))

    def private_bytes(self) -> bytes:
        return self._private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def add_lines(note: str, lines: list[str]) -> str:
    """``note`` with more signature lines after its own (each ending with a newline); lines it
    already carries are not repeated."""
    present = set(note.splitlines(keepends=True))
    return note + "".join(line for line in lines if line not in present)


def load_or_create_cosigner(directory: Path, name: str) -> Cosigner:
    """This library's witness key under ``directory``, created on first use, owner-only. It is
    apart from the checkpoint key: a witness must not be able to sign as the log."""
    raw = create_secret_file(directory / KEY_FILE, lambda: Cosigner.generate(name).private_bytes())
    cosigner = Cosigner(name, Ed25519PrivateKey.from_private_bytes(raw))
    vkey = directory / "witness.vkey"
    if not vkey.exists():
        vkey.write_text(cosigner.key.vkey + "\n")
    return cosigner
