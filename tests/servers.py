"""Real servers for the tests, one module every protocol's tests share (SIP2 today; OAI-PMH, SRU,
MQTT next), all on free local ports:

- ``shulian serve`` (or any command) as a subprocess, waited for until it answers, stopped
  afterwards, its log kept (:func:`running`, :func:`http_ready`, :func:`tcp_ready`,
  :func:`server_env`);
- an asyncio server of ours (SIP2) in a background event loop (:class:`LoopServer`);
- peers our servers talk to: an SMTP server that keeps what it receives (:class:`Inbox`, with
  STARTTLS and login) and an HTTP server that keeps the webhooks posted to it
  (:class:`WebhookReceiver`);
- another site a browser visits (:class:`OtherSite`): pages served from another origin, such
  as one that posts a form to ours.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- our servers as subprocesses ---------------------------------------------------------------


def server_env(values: Mapping[str, str] = ()) -> dict[str, str]:  # type: ignore[assignment]
    """This process's environment without any ``SHULIAN_*`` the surrounding run set (a
    PostgreSQL URL, say), plus ``values``; output unbuffered, so the log is complete."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHULIAN_")}
    env.update(values)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def http_ready(url: str) -> bool:
    """Whether a Shulian server at ``url`` answers its health check."""
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def tcp_ready(port: int) -> bool:
    """Whether something accepts connections on the local ``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def shulian_command(*args: str) -> list[str]:
    """The ``shulian`` command line of this interpreter (``python -m shulian.cli``)."""
    return [sys.executable, "-m", "shulian.cli", *args]


@contextmanager
def running(
    command: Sequence[str],
    *,
    ready: Callable[[subprocess.Popen[bytes]], bool],
    log: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 60.0,
    what: str = "the server",
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``command``, wait until ``ready(process)`` (failing the test with its log if it
    exits or takes longer than ``timeout``), yield it, then stop it (SIGTERM, then SIGKILL)."""
    with log.open("w") as out:
        proc = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + timeout
        while not ready(proc):
            if proc.poll() is not None or time.monotonic() > deadline:
                state = f"exited with {proc.returncode}" if proc.poll() is not None else "timed out"
                pytest.fail(f"{what} {state}; its output:\n{log.read_text()}")
            time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


# -- our asyncio servers in a background loop ---------------------------------------------------


class LoopServer:
    """An asyncio server of ours, run by an event loop in a background thread: ``start(host,
    port)`` and ``close()`` are the server's coroutines; ``port`` is read once it listens."""

    def __init__(
        self,
        start: Callable[[str, int], Coroutine[Any, Any, object]],
        close: Callable[[], Coroutine[Any, Any, object]],
        port: Callable[[], int],
    ) -> None:
        self._close = close
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(start("127.0.0.1", 0), self.loop).result(10)
        self.port = port()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    def connect(self, timeout: float = 5.0) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)


# -- peers our servers talk to ------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class Inbox:
    """What the SMTP server accepted, in order."""

    port: int
    user: str = ""
    password: str = ""
    tls_context: ssl.SSLContext | None = None
    messages: list[Received] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    _controller: Controller | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = email.message_from_bytes(envelope.original_content, policy=default_policy)
        with self._lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 OK"

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == self.user
            and data.password.decode() == self.password
        )
        if ok:
            self.logins.append(self.user)
        return AuthResult(success=ok)

    def start(self) -> Inbox:
        kwargs: dict[str, Any] = {}
        if self.user:
            kwargs.update(authenticator=self._authenticate, auth_required=True)
            kwargs["auth_require_tls"] = self.tls_context is not None
        if self.tls_context is not None:
            kwargs.update(tls_context=self.tls_context, require_starttls=True)
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def message_ids(self) -> list[str]:
        return [str(r.message["Message-ID"]) for r in self.messages]


def certificate_files(tmp: Path) -> tuple[Path, Path]:
    """A fresh self-signed certificate for 127.0.0.1 and its key, as PEM files in ``tmp``."""
    from ipaddress import IPv4Address

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def self_signed(tmp: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a fresh certificate for 127.0.0.1, and a client context that
    trusts exactly that certificate."""
    cert_path, key_path = certificate_files(tmp)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_path, key_path)
    client = ssl.create_default_context(cafile=str(cert_path))
    return server, client


@dataclass
class Hook:
    headers: dict[str, str]
    body: bytes


class WebhookReceiver:
    """An HTTP server in a thread keeping every POST; answers ``status`` (200 unless changed)."""

    def __init__(self) -> None:
        self.posts: list[Hook] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                receiver.posts.append(Hook({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notices"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)


class OtherSite:
    """Another web site on a port of its own (so another origin: for a browser, the same site
    as ours on 127.0.0.1, so SameSite=Lax cookies go along), serving ``pages`` by path, and
    answering a POST to a path of ``redirects`` with a 307 to its URL (the browser then posts
    the same form there, with ``Origin: null``)."""

    def __init__(self, pages: Mapping[str, str], redirects: Mapping[str, str] = ()) -> None:  # type: ignore[assignment]
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                target = site.redirects.get(self.path.split("?")[0])
                if target is None:
                    self.send_error(404)
                    return
                self.send_response(307)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                body = site.pages.get(self.path.split("?")[0])
                if body is None:
                    self.send_error(404)
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.pages = dict(pages)
        self.redirects = dict(redirects)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> OtherSite:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)
