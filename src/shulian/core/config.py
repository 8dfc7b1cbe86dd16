"""Infrastructure settings, read from ``SHULIAN_*`` environment variables or a ``.env`` file.

Settings hold infrastructure only (where the database is, which secret signs cookies); library
rules live in tables. Nothing here is read at import time: callers build ``Settings`` and pass it
to ``create_app(settings)`` or the CLI.
"""

from __future__ import annotations

import ipaddress
import secrets
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shulian.core.errors import ConfigurationError
from shulian.core.i18n import Language
from shulian.core.security import create_secret_file

ENV_PREFIX = "SHULIAN_"


class Settings(BaseSettings):
    """Where things are and how the process behaves; never library rules."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Field(default=Path("var"), description="Database, keys and indexes.")
    database_url: str = Field(
        default="", description="SQLAlchemy URL; empty means SQLite under data_dir."
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Signs cookies, tokens and QR codes; generated under data_dir when unset.",
    )
    default_language: Language = "zh-CN"
    session_max_age: int = Field(default=8 * 3600, gt=0, description="Seconds a login lasts.")
    token_max_age: int = Field(default=12 * 3600, gt=0, description="Seconds an API token lasts.")
    qr_max_age: int = Field(default=300, gt=0, description="Seconds a reader's QR code lasts.")
    login_max_failures: int = Field(default=5, gt=0)
    login_window_seconds: int = Field(default=900, gt=0)
    ledger_origin: str = Field(
        default="shulian.local/ledger",
        min_length=1,
        description="Name of this library's ledger, signed into every checkpoint.",
    )
    witness_name: str = Field(
        default="",
        description="Name of this library's witness key, which cosigns other libraries' "
        "checkpoints; empty means '<ledger origin>/witness'.",
    )
    ledger_worker: bool = Field(
        default=True, description="Append events and sign checkpoints in the serving process."
    )
    checkpoint_interval: float = Field(
        default=5.0, gt=0, description="Seconds between checkpoints."
    )
    search_worker: bool = Field(
        default=True, description="Keep the search index current in the serving process."
    )
    search_rate_per_minute: int = Field(
        default=600, gt=0, description="Searches and suggestions one client address may make."
    )
    db_statement_timeout: float = Field(
        default=60.0,
        ge=0,
        description="PostgreSQL: seconds a statement of the serving process may run (0: no "
        "limit); the command line's long jobs (ledger verify, backup, import) have none.",
    )
    db_idle_in_transaction_timeout: float = Field(
        default=60.0,
        gt=0,
        description="PostgreSQL: seconds a transaction may sit idle before the server ends it; "
        "an open transaction holds the event spine's consumers back.",
    )
    circulation_worker: bool = Field(
        default=True, description="Run the hourly circulation jobs in the serving process."
    )
    notify_worker: bool | None = Field(
        default=None,
        description="Deliver notices (every 5 s) in the serving process; unset: as "
        "circulation_worker (which did both before the outbox had a package of its own).",
    )
    smtp_host: str = Field(default="", description="Mail server for notices; empty: no e-mail.")
    smtp_port: int = Field(default=25, gt=0, lt=65536)
    smtp_from: str = Field(default="", description="From address of notices.")
    smtp_user: str = Field(default="", description="Login name, when the server wants one.")
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = Field(default=False, description="Upgrade the connection with STARTTLS.")
    smtp_ssl: bool = Field(default=False, description="Implicit TLS from the start (port 465).")
    notice_webhook_url: str = Field(
        default="", description="Notices on the webhook channel are POSTed here (SMS, WeChat)."
    )
    notice_webhook_secret: SecretStr | None = Field(
        default=None, description="Signs each webhook body (HMAC-SHA256)."
    )
    session_worker: bool = Field(
        default=True,
        description="Record when each login was last used and delete expired ones (every 30 s "
        "and every 10 minutes) in the serving process.",
    )
    trusted_proxies: str = Field(
        default="127.0.0.1,::1",
        description="Addresses or networks (comma-separated; '*' for any) of the reverse proxies "
        "whose X-Forwarded-For and X-Forwarded-Proto are believed: the client's address "
        "(login throttle, rate limits) and whether it came over HTTPS (Secure cookies, our "
        "origin); empty: believe no one.",
    )
    secure_cookies: bool = Field(
        default=False,
        description="Mark cookies Secure even on requests that did not arrive over HTTPS.",
    )
    sql_echo: bool = False

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: str) -> str:
        entries = []
        for entry in filter(None, (v.strip() for v in value.split(","))):
            if entry == "*":
                entries.append(entry)
                continue
            try:
                network = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an IP address or network (such as 10.0.0.0/8)"
                ) from None
            # uvicorn's matcher takes a network only in its exact form (10.0.0.0/8).
            entries.append(str(network) if "/" in entry else entry)
        return ",".join(entries)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")
        return value

    @model_validator(mode="after")
    def _complete_channels(self) -> Settings:
        if self.smtp_host and "@" not in self.smtp_from:
            raise ValueError(
                "SHULIAN_SMTP_FROM must be an e-mail address when SHULIAN_SMTP_HOST is set"
            )
        if self.smtp_starttls and self.smtp_ssl:
            raise ValueError("SHULIAN_SMTP_STARTTLS and SHULIAN_SMTP_SSL exclude each other")
        if self.notice_webhook_url:
            if not self.notice_webhook_url.startswith(("http://", "https://")):
                raise ValueError("SHULIAN_NOTICE_WEBHOOK_URL must be an http(s) URL")
            secret = self.notice_webhook_secret
            if secret is None or not secret.get_secret_value():
                raise ValueError("SHULIAN_NOTICE_WEBHOOK_SECRET is required with the webhook URL")
        return self

    @property
    def delivers_notices(self) -> bool:
        return self.circulation_worker if self.notify_worker is None else self.notify_worker

    @property
    def effective_witness_name(self) -> str:
        return self.witness_name or f"{self.ledger_origin}/witness"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'shulian.db'}"

    def secret(self) -> str:
        """The signing secret; generated once, owner-only, under ``data_dir`` when not set."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.data_dir / "secret_key"
        made = create_secret_file(path, lambda: secrets.token_urlsafe(48).encode())
        return made.decode().strip()


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment, turning a malformed value into a clear error.

    Raises:
        ConfigurationError: naming each ``SHULIAN_*`` variable that is wrong and why.
    """
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            if not err["loc"]:  # a rule across settings names its variables itself
                problems.append(err["msg"].removeprefix("Value error, "))
                continue
            field = ".".join(str(p) for p in err["loc"])
            problems.append(f"{ENV_PREFIX}{field.upper()}: {err['msg']}")
        raise ConfigurationError("; ".join(problems)) from None
