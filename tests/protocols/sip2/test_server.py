"""The server under hostile or broken clients: every case ends in a resend request (96), an
error response or a closed connection, and the server keeps serving everyone else."""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from shulian.circulation import service as circulation_service
from shulian.protocols.sip2 import codec, handlers
from shulian.protocols.sip2.server import Sip2Server, make_ssl_context
from tests.conftest import NOW
from tests.protocols.sip2.conftest import (
    TEST_CONFIG,
    Kiosk,
    RunningServer,
    add_kiosk,
    add_patron,
    exchange,
    first,
    logged_in,
    read_response,
    sip_client,
)
from tests.servers import certificate_files

RESEND = b"96AZFEF6\r"


def msg(body: str, encoding: str = "utf-8") -> bytes:
    data = (body + "AZ").encode(encoding)
    return data + codec.checksum_text(data).encode() + b"\r"


STATUS = msg("9900802.00AY1")


def closed(sock: socket.socket, within: float = 5.0) -> bool:
    """True once the server has closed ``sock`` (reads EOF or a reset), within ``within``."""
    sock.settimeout(within)
    try:
        while sock.recv(65536):
            pass
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False
    return True


def status_works(server: RunningServer) -> bool:
    with server.connect() as sock:
        return exchange(sock, STATUS).startswith(b"98")


@pytest.fixture(scope="module")
def kiosk(sip2_factory: sessionmaker[Session]) -> Kiosk:
    return add_kiosk(sip2_factory)


def login(sock: socket.socket, kiosk: Kiosk) -> None:
    assert exchange(sock, msg(f"9300CN{kiosk.login}|CO{kiosk.password}|AY0")).startswith(b"941")


class TestDamagedMessages:
    def test_bad_checksum_gets_a_resend_request(self, sip2_server: RunningServer) -> None:
        with sip2_server.connect() as sock:
            assert exchange(sock, b"9900802.00AY1AZ0000\r") == RESEND
            assert exchange(sock, STATUS).startswith(b"98")  # the connection carries on

    def test_garbage_gets_resend_requests_then_a_hangup(self, sip2_server: RunningServer) -> None:
        with sip2_server.connect() as sock:
            for _ in range(TEST_CONFIG.max_bad_messages):
                assert exchange(sock, b"\x00\xff\x13\x80garbage\xfe\r") == RESEND
            assert closed(sock)
        assert status_works(sip2_server)

    @pytest.mark.parametrize(
        "line",
        [
            b"1100\r",  # a checkout cut short
            b"0120261121    093000AOX|AY1\r",  # a message we do not answer
            b"93\r",  # a login with nothing in it
        ],
    )
    def test_truncated_and_unknown_messages(self, sip2_server: RunningServer, line: bytes) -> None:
        with sip2_server.connect() as sock:
            reply = exchange(sock, line)
            assert reply == RESEND or reply.startswith(b"940")
            assert exchange(sock, STATUS).startswith(b"98")

    def test_a_megabyte_line_is_cut_off(self, sip2_server: RunningServer) -> None:
        with sip2_server.connect() as sock:
            # The server hangs up while we are still sending: that is the point.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                sock.sendall(b"23" + b"A" * 1_000_000 + b"\r")
            with contextlib.suppress(ConnectionResetError):
                assert read_response(sock) in (RESEND, b"")
            assert closed(sock)
        assert status_works(sip2_server)

    def test_binary_noise_without_line_ends(
        self, start_server: Callable[..., RunningServer]
    ) -> None:
        server = start_server(max_line_bytes=1024)
        with server.connect() as sock:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                sock.sendall(bytes(b for b in range(1, 256) if b not in (10, 13)) * 20)
            assert closed(sock)
        assert status_works(server)


class TestFraming:
    def test_crlf_lf_and_pipelined_messages(self, sip2_server: RunningServer) -> None:
        with sip2_server.connect() as sock:
            sock.sendall(b"9900802.00\r\n9900802.00\n\n" + STATUS)
            replies = b""
            while replies.count(b"\r") < 3:
                replies += sock.recv(65536)
            assert [r[:2] for r in replies.split(b"\r")[:3]] == [b"98"] * 3

    def test_tls_client_hello_on_the_plain_port_is_closed(self, sip2_server: RunningServer) -> None:
        raw = socket.create_connection(("127.0.0.1", sip2_server.port), timeout=5)
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
            context.wrap_socket(raw, server_hostname="127.0.0.1")
        raw.close()
        assert status_works(sip2_server)

    @pytest.mark.filterwarnings("ignore:ssl.PROTOCOL_TLS is deprecated:DeprecationWarning")
    def test_sip2_client_with_tls_left_on_falls_back_to_plain(
        self, sip2_server: RunningServer, kiosk: Kiosk
    ) -> None:
        c = sip_client(sip2_server, tls=True)  # its ClientHello is refused, it reconnects plain
        resp = c.sip_login_response(
            c.get_response(c.sip_login_request(kiosk.login, kiosk.password))
        )
        assert resp["fixed"]["Ok"] == "1"
        c.disconnect()


class TestSlowAndSilentClients:
    def test_an_idle_client_is_dropped(self, start_server: Callable[..., RunningServer]) -> None:
        server = start_server(idle_timeout=0.3)
        with server.connect() as sock:
            started = time.monotonic()
            assert closed(sock, within=5)
            assert time.monotonic() - started < 3

    def test_a_message_trickled_byte_by_byte_is_dropped(
        self, start_server: Callable[..., RunningServer]
    ) -> None:
        server = start_server(idle_timeout=0.5)
        with server.connect() as sock:
            deadline = time.monotonic() + 5
            hung_up = False
            for byte in b"9900802.00" * 10:
                try:
                    sock.sendall(bytes([byte]))
                except (BrokenPipeError, ConnectionResetError):
                    hung_up = True
                    break
                time.sleep(0.05)
                if time.monotonic() > deadline:
                    break
            assert hung_up or closed(sock, within=2)

    def test_a_client_that_never_reads_is_dropped(
        self, start_server: Callable[..., RunningServer]
    ) -> None:
        server = start_server(write_timeout=0.3)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", server.port))
        assert exchange(sock, STATUS).startswith(b"98")
        assert server.server.connections == 1
        sock.settimeout(0.05)
        burst = STATUS * 2000
        dropped = False
        deadline = time.monotonic() + 60  # generous: a loaded machine drains slowly
        while time.monotonic() < deadline:
            try:
                sock.send(burst)
            except TimeoutError:
                pass  # our sends are blocked: the server stopped reading while it cannot write
            except (BrokenPipeError, ConnectionResetError):
                dropped = True
                break
            if server.server.connections == 0:
                dropped = True
                break
        assert dropped
        assert status_works(server)
        sock.close()

    def test_connections_past_the_limit_are_closed(
        self, start_server: Callable[..., RunningServer]
    ) -> None:
        server = start_server(max_connections=2)
        first_two = [server.connect(), server.connect()]
        for sock in first_two:
            assert exchange(sock, STATUS).startswith(b"98")
        with server.connect() as third:
            assert closed(third)
        for sock in first_two:
            sock.close()


class TestLoginAndReplay:
    def test_failed_logins_close_the_connection(
        self, sip2_server: RunningServer, kiosk: Kiosk
    ) -> None:
        with sip2_server.connect() as sock:
            for n in range(TEST_CONFIG.max_login_failures):
                wrong = msg(f"9300CN{kiosk.login}|COwrong{n}|AY{n}")
                assert exchange(sock, wrong).startswith(b"940")
            assert closed(sock)

    def test_a_failed_login_logs_the_connection_out(
        self, sip2_server: RunningServer, kiosk: Kiosk
    ) -> None:
        with sip2_server.connect() as sock:
            login(sock, kiosk)
            assert exchange(sock, msg(f"9300CN{kiosk.login}|COwrong|AY1")).startswith(b"940")
            status = exchange(sock, msg("9900802.00AY2"))
            assert status.startswith(b"98YNNN")

    def test_encrypted_credentials_are_refused(
        self, sip2_server: RunningServer, kiosk: Kiosk
    ) -> None:
        with sip2_server.connect() as sock:
            reply = exchange(sock, msg(f"9311CN{kiosk.login}|CO{kiosk.password}|AY0"))
            assert reply.startswith(b"940")

    def test_a_retransmission_gets_the_same_answer_and_lends_once(
        self, sip2_server: RunningServer, kiosk: Kiosk, sip2_factory: sessionmaker[Session]
    ) -> None:
        p = add_patron(sip2_factory)
        out = msg(f"11NN20261121    093000{' ' * 18}AOCEN|AA{p.card}|AB{p.barcodes[0]}|AC|AY3")
        with sip2_server.connect() as sock:
            login(sock, kiosk)
            answer = exchange(sock, out)
            assert answer.startswith(b"121")
            assert exchange(sock, out) == answer  # our answer was "lost": same bytes again
            assert exchange(sock, msg("97")) == answer  # the kiosk asks for a resend
        with sip2_factory() as s:
            account = circulation_service.reader_account(s, reader_id=p.id, now=NOW)
            assert len(account.loans) == 1

    def test_an_unexpected_failure_is_refused_and_serving_goes_on(
        self,
        sip2_server: RunningServer,
        kiosk: Kiosk,
        sip2_factory: sessionmaker[Session],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        def broken(*_: object) -> codec.Response:
            raise RuntimeError("card R0001 exploded")  # must not reach the log

        monkeypatch.setitem(handlers.HANDLERS, "17", (broken, False))
        c = logged_in(sip2_server, kiosk)
        info = c.sip_item_information_response(c.get_response(c.sip_item_information_request("X")))
        assert info["fixed"]["CirculationStatus"] == "01"
        assert first(info, "AF") == "图书馆系统暂时无法完成此操作，请到服务台办理"
        status = c.sip_sc_status_response(c.get_response(c.sip_sc_status_request()))
        assert status["fixed"]["OnlineStatus"] == "Y"
        c.disconnect()

    def test_logs_name_the_kiosk_never_the_patron(
        self,
        sip2_server: RunningServer,
        kiosk: Kiosk,
        sip2_factory: sessionmaker[Session],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        caplog.set_level(logging.INFO, logger="shulian.sip2")
        p = add_patron(sip2_factory)
        c = logged_in(sip2_server, kiosk)
        c.patron = p.card
        c.get_response(c.sip_checkout_request(p.barcodes[0]))
        c.get_response(c.sip_checkout_request("NO-SUCH-ITEM"))
        c.disconnect()
        ours = [r.getMessage() for r in caplog.records if r.name == "shulian.sip2"]
        assert any(kiosk.login in line for line in ours)
        assert not any(p.card in line or p.barcodes[0] in line for line in ours)


@pytest.mark.filterwarnings("ignore:ssl.PROTOCOL_TLS is deprecated:DeprecationWarning")
class TestTls:
    def test_the_sip2_client_over_tls(
        self,
        tmp_path: Path,
        sip2_factory: sessionmaker[Session],
        kiosk: Kiosk,
    ) -> None:
        cert, key = map(str, certificate_files(tmp_path))
        server = RunningServer(
            Sip2Server(
                factory=sip2_factory, config=TEST_CONFIG, ssl_context=make_ssl_context(cert, key)
            )
        )
        try:
            p = add_patron(sip2_factory)
            c = sip_client(server, tls=True)  # accepts the self-signed certificate
            assert isinstance(c._socket, ssl.SSLSocket)
            resp = c.sip_login_response(
                c.get_response(c.sip_login_request(kiosk.login, kiosk.password))
            )
            assert resp["fixed"]["Ok"] == "1"
            c.patron = p.card
            out = c.sip_checkout_response(c.get_response(c.sip_checkout_request(p.barcodes[0])))
            assert out["fixed"]["Ok"] == "1"
            c.disconnect()
            with server.connect() as plain:  # plain text on the TLS port: no answer, closed
                plain.sendall(STATUS)
                assert closed(plain)
        finally:
            server.stop()
