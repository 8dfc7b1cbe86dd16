"""What a SIP2 connection knows: its settings, the kiosk that logged in, the patron it serves."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from shulian.core.clock import utcnow
from shulian.core.i18n import Language


@dataclass(frozen=True)
class Sip2Config:
    """How the server behaves. Timeouts are seconds; limits are per connection unless named."""

    library_name: str = "Shulian"
    tz: tzinfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    language: Language = "zh-CN"
    # Blank patron passwords (AD) are accepted unless this is set: most kiosks in China lend on
    # the card alone. A password that is given is always checked.
    require_patron_password: bool = False
    idle_timeout: float = 600.0  # a whole message must arrive within this, from the last one
    write_timeout: float = 10.0  # a response must leave within this (a client that never reads)
    max_line_bytes: int = 8192
    max_connections: int = 500
    max_login_failures: int = 3
    # Patron passwords share the web logins' throttle (per card and kiosk, per kiosk, and a
    # growing delay per card); the secret keys its digests (the library's SHULIAN_SECRET_KEY).
    throttle_secret: str = field(default="", repr=False)
    patron_max_failures: int = 5
    patron_failure_window: float = 900.0
    max_bad_messages: int = 5  # consecutive unreadable messages before we hang up
    workers: int = 8  # threads doing database work for all connections
    clock: Callable[[], datetime] = utcnow


@dataclass(frozen=True)
class KioskInfo:
    """The kiosk a connection logged in as (a copy: no ORM object outlives its session)."""

    id: int
    login: str
    branch: str
    institution: str
    encoding: str

    @property
    def actor(self) -> str:
        return f"kiosk:{self.id}"


@dataclass
class ConnectionState:
    """One connection's memory. Touched by its own task and the one unit of work it awaits."""

    kiosk: KioskInfo | None = None
    login_failures: int = 0
    bad_messages: int = 0
    last_request: bytes | None = None
    last_response: bytes | None = None
    # The patron whose card and password were last verified here, as a keyed digest: kiosks
    # repeat the password (AD) in every message, and Argon2 on each would cost ~50 ms.
    _verified: bytes | None = None
    # Patron password outcomes for the login throttle, written after the message's unit of work
    # (which a refusal rolls back, and which may be a read): ("failed" | "passed", card).
    password_outcomes: list[tuple[str, str]] = field(default_factory=list)
    _key: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    def _digest(self, card: str, password: str) -> bytes:
        return hmac.new(self._key, f"{card}\0{password}".encode(), hashlib.sha256).digest()

    def remember_patron(self, card: str, password: str) -> None:
        self._verified = self._digest(card, password)

    def knows_patron(self, card: str, password: str) -> bool:
        return self._verified is not None and hmac.compare_digest(
            self._verified, self._digest(card, password)
        )

    def forget_patron(self) -> None:
        self._verified = None


@dataclass(frozen=True)
class Context:
    """What a handler is given besides its session and request."""

    config: Sip2Config
    state: ConnectionState
    now: datetime

    @property
    def kiosk(self) -> KioskInfo:
        assert self.state.kiosk is not None  # dispatch refuses every message before login
        return self.state.kiosk

    @property
    def throttle_window(self) -> timedelta:
        return timedelta(seconds=self.config.patron_failure_window)


SessionFactory = sessionmaker[Session]
