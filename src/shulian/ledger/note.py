"""C2SP signed notes and checkpoints, with Ed25519 keys.

A checkpoint's text is three lines: origin, tree size in decimal, root hash in base64. A signed
note is that text, a blank line, and one signature line per signer::

    — <key name> <base64(4-byte key hash || 64-byte Ed25519 signature)>

The key hash is the first four bytes of SHA-256(name || "\\n" || 0x01 || public key). A verifier
key is published as ``<name>+<key hash, 8 hex>+<base64(0x01 || public key)>``.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from shulian.core.security import create_secret_file

ALG_ED25519 = b"\x01"
DASH = "\u2014"  # the em dash that starts a signature line


class NoteError(ValueError):
    """A note or checkpoint that is malformed, unsigned, or signed by the wrong key."""


def key_hash(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ALG_ED25519 + public).digest()[:4]


@dataclass(frozen=True)
class Verifier:
    name: str
    public: bytes

    @property
    def hash(self) -> bytes:
        return key_hash(self.name, self.public)

    @property
    def vkey(self) -> str:
        return (
            f"{self.name}+{self.hash.hex()}+{base64.b64encode(ALG_ED25519 + self.public).decode()}"
        )

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        """Raises: NoteError for a malformed key or one whose hash does not match."""
        try:
            # Names never contain "+"; base64 key data may, so split from the left.
            name, hash_hex, data = vkey.strip().split("+", 2)
            raw = base64.b64decode(data, validate=True)
        except ValueError as exc:
            raise NoteError(f"malformed verifier key: {exc}") from None
        if not name or len(raw) != 33 or raw[:1] != ALG_ED25519:
            raise NoteError("verifier key is not an Ed25519 key")
        verifier = cls(name=name, public=raw[1:])
        if verifier.hash.hex() != hash_hex:
            raise NoteError("verifier key hash does not match its name and key")
        return verifier

    def check(self, text: str, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, text.encode())
        except InvalidSignature:
            return False
        return True


class Signer:
    def __init__(self, name: str, private: Ed25519PrivateKey) -> None:
        self.name = name
        self._private = private
        public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.verifier = Verifier(name=name, public=public)

    @classmethod
    def generate(cls, name: str) -> Signer:
        return cls(name, Ed25519PrivateKey.generate())

    def signature_line(self, text: str) -> str:
        sig = self._private.sign(text.encode())
        return f"{DASH} {self.name} {base64.b64encode(self.verifier.hash + sig).decode()}\n"

    def sign(self, text: str) -> str:
        """A signed note of ``text`` (which must end with a newline)."""
        return text + "\n" + self.signature_line(text)

    def private_bytes(self) -> bytes:
        from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

        return self._private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def load_or_create_signer(directory: Path, name: str) -> Signer:
    """The ledger's signing key under ``directory``, created on first use, owner-only."""
    raw = create_secret_file(
        directory / "ledger.key", lambda: Signer.generate(name).private_bytes()
    )
    signer = Signer(name, Ed25519PrivateKey.from_private_bytes(raw))
    vkey = directory / "ledger.vkey"
    if not vkey.exists():
        vkey.write_text(signer.verifier.vkey + "\n")
    return signer


def split_note(note: str) -> tuple[str, list[tuple[str, bytes, bytes]]]:
    """The text of a note and its signatures as (name, key hash, signature).

    Raises: NoteError when the note has no blank line before signatures or a line is malformed.
    """
    text, sep, sigs = note.rpartition("\n\n")
    if not sep or not text:
        raise NoteError("not a signed note: no blank line before the signatures")
    text += "\n"
    out = []
    for line in sigs.splitlines():
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != DASH:
            raise NoteError(f"malformed signature line: {line[:60]!r}")
        try:
            raw = base64.b64decode(parts[2], validate=True)
        except ValueError:
            raise NoteError("signature is not base64") from None
        # Other kinds of signature (a witness's cosignature: key ID, timestamp, signature) share
        # the note; a verifier skips the lines that are not for its key, as C2SP asks.
        if len(raw) < 5:
            raise NoteError("signature line is too short to carry a key ID and a signature")
        out.append((parts[1], raw[:4], raw[4:]))
    if not out:
        raise NoteError("note carries no signature")
    return text, out


def verified_signers(note: str, verifiers: list[Verifier]) -> list[str]:
    """Names of the given keys that validly signed ``note`` (an empty list if none did)."""
    text, sigs = split_note(note)
    names = []
    for name, khash, sig in sigs:
        for v in verifiers:
            if v.name == name and v.hash == khash and len(sig) == 64 and v.check(text, sig):
                names.append(name)
    return names


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse_text(cls, text: str) -> Checkpoint:
        """Raises: NoteError naming the line that is wrong."""
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise NoteError("checkpoint needs origin, size and root hash lines")
        origin, size_s, root_s = lines[0], lines[1], lines[2]
        if not origin:
            raise NoteError("checkpoint line 1: empty origin")
        if not size_s.isdigit() or (size_s != "0" and size_s.startswith("0")):
            raise NoteError(f"checkpoint line 2: tree size {size_s[:30]!r} is not a number")
        try:
            root = base64.b64decode(root_s, validate=True)
        except ValueError:
            raise NoteError("checkpoint line 3: root hash is not base64") from None
        if len(root) != 32:
            raise NoteError(f"checkpoint line 3: root hash is {len(root)} bytes, not 32")
        return cls(origin=origin, size=int(size_s), root=root)


def open_checkpoint(note: str, verifier: Verifier) -> Checkpoint:
    """The checkpoint in ``note`` if ``verifier`` signed it and its origin is the key's name.

    Raises: NoteError (malformed, not signed by this key, or for another origin).
    """
    text, _ = split_note(note)
    if verifier.name not in verified_signers(note, [verifier]):
        raise NoteError(f"checkpoint is not signed by {verifier.name}")
    cp = Checkpoint.parse_text(text)
    if cp.origin != verifier.name:
        raise NoteError(f"checkpoint origin {cp.origin!r} is not {verifier.name!r}")
    return cp
