"""The SIP2 server: asyncio, many kiosks at once, optional TLS.

Framing: a message ends at CR; CRLF and a bare LF are taken too (blank lines are skipped).
Guards, each a response or a closed connection and never a stuck server:

- a line longer than ``max_line_bytes`` gets a resend request (96) and the connection closes;
- a whole message must arrive within ``idle_timeout`` (idle kiosks and slow senders are dropped);
- a response must leave within ``write_timeout`` (a client that never reads is dropped);
- a TLS ClientHello (first byte 0x16) on a plain port is closed at once;
- an unreadable or damaged message gets 96; ``max_bad_messages`` of them in a row close;
- ``max_login_failures`` failed logins close; past ``max_connections`` new ones are closed.

Database work runs in a bounded thread pool, one unit of work per message; messages from one
kiosk are answered in order, one at a time. On SQLite, which has one writer at a time anyway,
writes queue for a single writer thread: waiting in our queue is first come, first served,
where waiting on SQLite's busy handler means sleeping in growing steps (long tails).

A retransmission (the same bytes with the same sequence number, sent because our answer was
lost) gets the same answer again, without doing the work twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from shulian.protocols.sip2 import codec
from shulian.protocols.sip2.handlers import HANDLERS, handle, load_translations
from shulian.protocols.sip2.state import ConnectionState, SessionFactory, Sip2Config

log = logging.getLogger("shulian.sip2")

TLS_HANDSHAKE = 0x16
READ_CHUNK = 4096
NO_DATABASE = frozenset({"99"})  # answered on the event loop, no thread needed


class _Hangup(Exception):
    """Close this connection (after whatever was already written)."""


class Sip2Server:
    """Serves SIP2 on ``host:port``; ``ssl_context`` makes every connection TLS."""

    def __init__(
        self,
        *,
        factory: SessionFactory,
        read_factory: SessionFactory | None = None,
        config: Sip2Config | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.factory = factory
        self.read_factory = read_factory or factory
        self.config = config or Sip2Config()
        self.ssl_context = ssl_context
        self.executor = ThreadPoolExecutor(
            max_workers=self.config.workers, thread_name_prefix="sip2-db"
        )
        bind = factory.kw.get("bind")
        single_writer = bind is not None and bind.dialect.name == "sqlite"
        self.write_executor = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="sip2-writer")
            if single_writer
            else self.executor
        )
        self.connections = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        load_translations()

    async def start(self, host: str, port: int) -> asyncio.Server:
        self._server = await asyncio.start_server(
            self._serve_connection,
            host,
            port,
            ssl=self.ssl_context,
            ssl_handshake_timeout=10 if self.ssl_context else None,
            limit=self.config.max_line_bytes * 2,
        )
        return self._server

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def serve_forever(self, host: str, port: int) -> None:
        server = await self.start(host, port)
        async with server:
            await server.serve_forever()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.write_executor.shutdown(wait=False, cancel_futures=True)

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        if self.connections >= self.config.max_connections:
            log.warning("connection refused: %d kiosks connected already", self.connections)
            await _close(writer)
            return
        self.connections += 1
        self._writers.add(writer)
        state = ConnectionState()
        try:
            await self._converse(reader, writer, state)
        except (_Hangup, ConnectionError, TimeoutError, ssl.SSLError, asyncio.IncompleteReadError):
            pass
        except Exception as exc:  # never let one connection take the server down
            log.error("connection dropped (%s)", type(exc).__name__)
        finally:
            self.connections -= 1
            self._writers.discard(writer)
            await _close(writer)

    async def _converse(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: ConnectionState
    ) -> None:
        buffer = bytearray()
        first = True
        while True:
            line = await asyncio.wait_for(
                self._next_line(reader, writer, buffer, first), self.config.idle_timeout
            )
            first = False
            if line is None:
                return  # the kiosk hung up
            await self._answer(line, writer, state)

    async def _next_line(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        buffer: bytearray,
        first: bool,
    ) -> bytes | None:
        while True:
            line = _take_line(buffer)
            if line is not None and len(line) <= self.config.max_line_bytes:
                return line
            if line is not None or len(buffer) > self.config.max_line_bytes:
                log.warning("line over %d bytes: closing", self.config.max_line_bytes)
                await self._write(writer, codec.resend_request())
                raise _Hangup
            chunk = await reader.read(READ_CHUNK)
            if not chunk:
                return None
            if first and not buffer and self.ssl_context is None and chunk[0] == TLS_HANDSHAKE:
                log.warning("TLS handshake on the plain SIP2 port: closing")
                raise _Hangup
            buffer += chunk

    async def _answer(
        self, line: bytes, writer: asyncio.StreamWriter, state: ConnectionState
    ) -> None:
        encoding = state.kiosk.encoding if state.kiosk else codec.guess_encoding(line)
        try:
            request = codec.parse(line, encoding=encoding)
        except codec.SipFormatError as exc:
            state.bad_messages += 1
            kiosk = state.kiosk.login if state.kiosk else "-"
            log.warning("kiosk %s: unreadable message (%s)", kiosk, type(exc).__name__)
            await self._write(writer, codec.resend_request())
            if state.bad_messages >= self.config.max_bad_messages:
                raise _Hangup from None
            return
        state.bad_messages = 0
        if request.code == "97":  # the kiosk lost our last answer
            await self._write(writer, state.last_response or codec.resend_request())
            return
        if (
            request.sequence is not None
            and line == state.last_request
            and state.last_response is not None
        ):
            await self._write(writer, state.last_response)  # a retransmission: same answer
            return
        call = partial(
            handle,
            request,
            state=state,
            config=self.config,
            factory=self.factory,
            read_factory=self.read_factory,
        )
        if request.code in NO_DATABASE:
            response = call()
        else:
            writes = request.code in HANDLERS and HANDLERS[request.code][1] and state.kiosk
            executor = self.write_executor if writes else self.executor
            response = await asyncio.get_running_loop().run_in_executor(executor, call)
        data = codec.encode(
            response,
            encoding=state.kiosk.encoding if state.kiosk else encoding,
            sequence=request.sequence,
            checksummed=request.checksummed,
        )
        state.last_request, state.last_response = line, data
        await self._write(writer, data)
        if request.code == "93" and state.login_failures >= self.config.max_login_failures:
            raise _Hangup

    async def _write(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(data)
        await asyncio.wait_for(writer.drain(), self.config.write_timeout)


def _take_line(buffer: bytearray) -> bytes | None:
    """Cut the first message off ``buffer``: up to CR or LF, skipping blank lines."""
    while True:
        ends = [i for i in (buffer.find(b"\r"), buffer.find(b"\n")) if i >= 0]
        if not ends:
            return None
        end = min(ends)
        line = bytes(buffer[:end])
        del buffer[: end + 1]
        if line.strip():
            return line


async def _close(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        if writer.transport.get_write_buffer_size():
            writer.transport.abort()  # unread answers would hold the socket open for ever
        else:
            writer.close()
        await asyncio.wait_for(writer.wait_closed(), 2)


def make_ssl_context(cert: str, key: str) -> ssl.SSLContext:
    """A server TLS context (TLS 1.2 or newer) from a PEM certificate chain and key."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context
