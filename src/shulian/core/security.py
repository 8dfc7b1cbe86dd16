"""Passwords (Argon2id), signed expiring tokens (reader QR codes) and keyed digests.

Page logins and API tokens are not signed tokens: they are random secrets looked up in the
accounts' ``login_sessions``, so that they can be ended before they expire."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

_hasher = PasswordHasher()
# Verified against when the account does not exist, so both failures take the same time.
_DUMMY_HASH = _hasher.hash("shulian-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; a missing hash still costs one Argon2 verification."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


class Signer:
    """Signs small JSON payloads for one purpose (``salt``); each purpose has its own lifetime."""

    def __init__(self, secret: str, purpose: str) -> None:
        self._s = URLSafeTimedSerializer(secret, salt=f"shulian.{purpose}")

    def dumps(self, payload: dict[str, Any]) -> str:
        return self._s.dumps(payload)

    def loads(self, token: str, *, max_age: int) -> dict[str, Any] | None:
        """The payload, or None when the token is forged, altered or older than ``max_age``."""
        try:
            data = self._s.loads(token, max_age=max_age)
        except (SignatureExpired, BadSignature):
            return None
        return data if isinstance(data, dict) else None


def keyed_digest(secret: str, value: str) -> str:
    """A keyed pseudonym (HMAC-SHA256) for a value that must not be stored in the clear."""
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


PrincipalKind = Literal["staff", "reader"]


@dataclass(frozen=True)
class Principal:
    """Who is making a request. Readers hold no permissions: they reach only their own data."""

    kind: PrincipalKind
    id: int
    display_name: str
    permissions: frozenset[str] = field(default_factory=frozenset)
    branch_code: str | None = None
    auth_version: int = 1
    #: The login (page session or API token) the request came with, so logout can end it.
    session_id: int | None = None

    @property
    def actor(self) -> str:
        """How the principal appears in events: a kind and an id, never a name."""
        return f"{self.kind}:{self.id}"

    def can(self, permission: str) -> bool:
        return permission in self.permissions


def create_secret_file(path: Path, make: Callable[[], bytes]) -> bytes:
    """The content of the owner-only file ``path``, made with ``make()`` if it does not exist.

    Safe when several processes start at once (``serve --workers N`` on a fresh data folder):
    the content is written whole to a private file first and then linked into place, which
    fails if another process got there first; then that process's file is read, never a
    half-written one.
    """
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = make()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return path.read_bytes()
        return data
    finally:
        tmp.unlink(missing_ok=True)
