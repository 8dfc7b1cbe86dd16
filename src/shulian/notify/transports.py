"""The channels notices leave by: e-mail over SMTP, and a signed JSON webhook for SMS or WeChat
gateways. Both carry the notice key as their idempotency key (the e-mail's ``Message-ID``, the
webhook's ``Idempotency-Key`` header), the same on every attempt, so a receiver can drop a
duplicate (see ``shulian.notify.delivery`` for the contract).

A failed send raises ``DeliveryError`` with the kind of failure (for staff) and a reason that
names it only (an SMTP reply code, an HTTP status, an exception class): never an address, a name
or a server's reply text, which may echo the address.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any, Protocol

import httpx

from shulian.core.config import Settings
from shulian.notify.types import FailureKind

SIGNATURE_HEADER = "X-Shulian-Signature"
# Webhook answers that another try may fix; any other 4xx is the request itself being refused.
RETRYABLE_4XX = frozenset({408, 409, 425, 429})


class DeliveryError(Exception):
    """A send that did not go through. ``permanent``: retrying the same notice cannot help."""

    def __init__(self, reason: str, *, kind: FailureKind, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.kind, self.permanent = reason, kind, permanent


@dataclass(frozen=True)
class Outgoing:
    """A claimed notice, written and addressed, ready to send outside any transaction. Contact
    details are read from the reader's account at claim time and live only here, in memory."""

    notice_id: int
    key: str
    attempts: int  # the lease: a result is recorded only while this is still the notice's
    kind: str
    channel: str
    language: str
    subject: str
    body: str
    sent_at: datetime
    email: str = ""
    phone: str = ""
    card_number: str = ""
    context: dict[str, Any] = field(default_factory=dict)


class Transport(Protocol):
    def send(self, out: Outgoing) -> None:
        """Deliver one notice. Raises: DeliveryError."""

    def close(self) -> None:
        """Let go of any open connection (the next ``send`` opens a new one)."""


def _refusal(permanent: bool) -> FailureKind:
    return FailureKind.REFUSED if permanent else FailureKind.TEMPORARY


def message_id(key: str, domain: str) -> str:
    """A Message-ID that is the same for every attempt at one notice."""
    local = re.sub(r"[^A-Za-z0-9_-]+", ".", key).strip(".")
    return f"<notice.{local}@{domain}>"


class SmtpTransport:
    """E-mail over SMTP (optionally STARTTLS or implicit TLS, and a login). One connection is
    kept across the sends of a delivery run and closed by ``close``."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        from_addr: str,
        user: str = "",
        password: str = "",
        starttls: bool = False,
        use_ssl: bool = False,
        timeout: float = 30.0,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host, self.port, self.from_addr = host, port, from_addr
        self.user, self.password = user, password
        self.starttls, self.use_ssl, self.timeout = starttls, use_ssl, timeout
        self.tls_context = tls_context  # None: the system's trusted CAs, host name checked
        self.domain = parseaddr(from_addr)[1].rpartition("@")[2] or "localhost"
        self._smtp: smtplib.SMTP | None = None

    def message(self, out: Outgoing) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.from_addr
        msg["To"] = out.email
        msg["Subject"] = out.subject
        msg["Date"] = format_datetime(out.sent_at)
        msg["Message-ID"] = message_id(out.key, self.domain)
        msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to this
        msg.set_content(out.body)
        msg["Content-Language"] = out.language  # after set_content, which drops Content-*
        return msg

    def _connect(self) -> smtplib.SMTP:
        if self._smtp is not None:
            return self._smtp
        context = self.tls_context or ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.use_ssl:
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            smtp.ehlo()
            if self.starttls:
                smtp.starttls(context=context)
                smtp.ehlo()
            if self.user:
                smtp.login(self.user, self.password)
        except BaseException:
            smtp.close()
            raise
        self._smtp = smtp
        return smtp

    def send(self, out: Outgoing) -> None:
        if not out.email:
            raise DeliveryError(
                "reader has no e-mail address", kind=FailureKind.NO_ADDRESS, permanent=True
            )
        msg = self.message(out)
        try:
            self._connect().send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            self.close()
            codes = sorted({code for code, _text in exc.recipients.values()})
            permanent = all(500 <= c < 600 for c in codes)
            raise DeliveryError(
                f"SMTP recipient refused ({codes})", kind=_refusal(permanent), permanent=permanent
            ) from None
        except smtplib.SMTPDataError as exc:
            self.close()
            permanent = 500 <= exc.smtp_code < 600
            raise DeliveryError(
                f"SMTP message refused ({exc.smtp_code})",
                kind=_refusal(permanent),
                permanent=permanent,
            ) from None
        except smtplib.SMTPResponseException as exc:
            # Sender refused, login failed, server busy: the server or our settings, not this
            # notice; retried with backoff while someone puts it right.
            self.close()
            raise DeliveryError(
                f"SMTP {type(exc).__name__} ({exc.smtp_code})", kind=FailureKind.TEMPORARY
            ) from None
        except smtplib.SMTPException as exc:
            self.close()
            raise DeliveryError(
                f"SMTP {type(exc).__name__}", kind=FailureKind.UNREACHABLE
            ) from None
        except OSError as exc:
            self.close()
            raise DeliveryError(
                f"SMTP unreachable ({type(exc).__name__})", kind=FailureKind.UNREACHABLE
            ) from None

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


def sign(body: bytes, secret: str) -> str:
    """The value of the signature header: ``sha256=`` and the HMAC-SHA256 of the body in hex."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookTransport:
    """An HTTP POST of the notice as JSON, for an SMS or WeChat gateway. Headers:
    ``Idempotency-Key`` (the notice key) and ``X-Shulian-Signature`` (``sha256=<hex>``, an
    HMAC-SHA256 of the exact body bytes with the shared secret). Any 2xx answer is delivery."""

    def __init__(
        self,
        *,
        url: str,
        secret: str,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url, self.secret, self.timeout = url, secret, timeout
        self._transport = transport
        self._client: httpx.Client | None = None

    @staticmethod
    def payload(out: Outgoing) -> dict[str, Any]:
        return {
            "key": out.key,
            "kind": out.kind,
            "language": out.language,
            "subject": out.subject,
            "body": out.body,
            "reader": {"card_number": out.card_number, "phone": out.phone},
            "context": out.context,
        }

    def send(self, out: Outgoing) -> None:
        body = json.dumps(
            self.payload(out), ensure_ascii=False, sort_keys=True, separators=(",", ":")
        ).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": out.key,
            SIGNATURE_HEADER: sign(body, self.secret),
            "User-Agent": "shulian-notices",
        }
        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout, transport=self._transport)
        try:
            response = self._client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            self.close()
            raise DeliveryError(
                f"webhook unreachable ({type(exc).__name__})", kind=FailureKind.UNREACHABLE
            ) from None
        if response.is_success:
            return
        code = response.status_code
        permanent = 400 <= code < 500 and code not in RETRYABLE_4XX
        raise DeliveryError(
            f"webhook answered HTTP {code}", kind=_refusal(permanent), permanent=permanent
        )

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()


def transports_from_settings(settings: Settings) -> dict[str, Transport]:
    """The channels this installation is set up for; a channel left out fails its notices."""
    out: dict[str, Transport] = {}
    if settings.smtp_host:
        out["email"] = SmtpTransport(
            host=settings.smtp_host,
            port=settings.smtp_port,
            from_addr=settings.smtp_from,
            user=settings.smtp_user,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else "",
            starttls=settings.smtp_starttls,
            use_ssl=settings.smtp_ssl,
        )
    if settings.notice_webhook_url and settings.notice_webhook_secret is not None:
        out["webhook"] = WebhookTransport(
            url=settings.notice_webhook_url,
            secret=settings.notice_webhook_secret.get_secret_value(),
        )
    return out
