"""A real SIP2 server for the tests: one committed database per module (SQLite, or PostgreSQL
when ``SHULIAN_TEST_DATABASE_URL`` is set), servers on free ports in a background event loop,
and builders that commit readers, items and kiosks the server can see."""

from __future__ import annotations

import itertools
import logging
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from Sip2.sip2 import Sip2
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from shulian.core.db import make_engine, make_sessionmaker, session_scope
from shulian.migrations import upgrade
from shulian.protocols.sip2 import codec
from shulian.protocols.sip2.server import Sip2Server
from shulian.protocols.sip2.state import Sip2Config
from shulian.selfservice import service as selfservice_service
from shulian.selfservice.schemas import KioskCreate
from tests.conftest import NOW, fresh_database
from tests.factories.accounts import make_reader
from tests.factories.catalog import make_item, make_record
from tests.factories.consortium import make_network
from tests.servers import LoopServer

KIOSK_PASSWORD = "kiosk-secret-1"
_seq = itertools.count(1)


@pytest.fixture(scope="module")
def sip2_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A migrated database whose commits are real, shared by one test module."""
    with fresh_database(tmp_path_factory.mktemp("sip2"), name="sip2") as url:
        eng = make_engine(url)
        upgrade(eng)
        yield eng
        eng.dispose()


@pytest.fixture(scope="module")
def sip2_factory(sip2_engine: Engine) -> sessionmaker[Session]:
    factory = make_sessionmaker(sip2_engine)
    with session_scope(factory) as session:
        make_network(session)
    return factory


@dataclass
class Kiosk:
    login: str
    password: str
    branch: str
    encoding: str
    id: int


def add_kiosk(
    factory: sessionmaker[Session], *, encoding: str = "utf-8", branch: str = "CEN"
) -> Kiosk:
    login = f"kiosk{next(_seq)}-{uuid.uuid4().hex[:4]}"
    with session_scope(factory) as session:
        k = selfservice_service.create_kiosk(
            session,
            data=KioskCreate(
                login=login, password=KIOSK_PASSWORD, branch_code=branch, encoding=encoding
            ),
            actor="test",
            now=NOW,
        )
        return Kiosk(login, KIOSK_PASSWORD, k.branch_code, k.encoding, k.id)


@dataclass
class Patron:
    card: str
    id: int
    barcodes: list[str] = field(default_factory=list)


def add_patron(
    factory: sessionmaker[Session], *, copies: int = 1, title: str = "狂人日记", **reader: object
) -> Patron:
    """A reader at CEN (password ``tests.factories.accounts.PASSWORD``) and ``copies`` new
    copies of a new title on the shelf at CEN."""
    with session_scope(factory) as session:
        r = make_reader(session, **reader)  # type: ignore[arg-type]
        record = make_record(session, publish=True, title=title)
        items = [make_item(session, record, branch="CEN").barcode for _ in range(copies)]
        return Patron(r.card_number, r.id, items)


class RunningServer(LoopServer):
    """A Sip2Server on a free port, its event loop in a background thread."""

    def __init__(self, server: Sip2Server) -> None:
        self.server = server
        super().__init__(server.start, server.close, lambda: server.port)


# A clock that moves a second per call from NOW, so loans and events stay in order.
def _ticking() -> Callable[[], datetime]:
    counter = itertools.count()
    return lambda: NOW + timedelta(seconds=next(counter))


TEST_CONFIG = Sip2Config(
    idle_timeout=5.0, write_timeout=2.0, workers=4, throttle_secret="sip2-test-secret"
)


@pytest.fixture(scope="module")
def start_server(
    sip2_factory: sessionmaker[Session], sip2_engine: Engine
) -> Iterator[Callable[..., RunningServer]]:
    """Starts servers (stopped at the end of the module); keyword arguments change the config."""
    running: list[RunningServer] = []
    read = make_sessionmaker(sip2_engine, readonly=True)

    def start(**changes: object) -> RunningServer:
        changes.setdefault("clock", _ticking())
        config = replace(TEST_CONFIG, **changes)  # type: ignore[arg-type]
        srv = RunningServer(Sip2Server(factory=sip2_factory, read_factory=read, config=config))
        running.append(srv)
        return srv

    yield start
    for srv in running:
        srv.stop()


@pytest.fixture(scope="module")
def sip2_server(start_server: Callable[..., RunningServer]) -> RunningServer:
    return start_server()


def exchange(sock: socket.socket, message: bytes) -> bytes:
    """Send raw bytes, read one response up to CR (or until the server closes)."""
    sock.sendall(message)
    return read_response(sock)


def read_response(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(codec.TERMINATOR):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def sip_client(server: RunningServer, *, encoding: str = "utf-8", tls: bool = False) -> Sip2:
    """The sip2 client from PyPI, as a kiosk uses it (plain TCP unless ``tls``)."""
    c = Sip2()
    c.log = logging.getLogger("tests.sip2client")  # else it writes sip2.log into the cwd
    c.hostName, c.hostPort, c.tlsEnable = "127.0.0.1", server.port, tls
    c.hostEncoding = encoding
    c.institutionId = "CEN"
    c.connect()
    return c


def logged_in(server: RunningServer, kiosk: Kiosk) -> Sip2:
    c = sip_client(server, encoding=kiosk.encoding)
    login = c.sip_login_response(c.get_response(c.sip_login_request(kiosk.login, kiosk.password)))
    assert login["fixed"]["Ok"] == "1"
    return c


def first(parsed: dict[str, Any], tag: str) -> str:
    """The first value of ``tag`` in a response the sip2 client parsed ('' when absent)."""
    values: list[str] = parsed["variable"].get(tag, [""])
    return values[0]
