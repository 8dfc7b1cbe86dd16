"""The database layer: one declarative base, engines for SQLite and PostgreSQL, sessions.

SQLite runs in WAL mode with foreign keys on, and with Python's implicit transaction handling
replaced by explicit ``BEGIN`` so that savepoints and rollbacks behave as on PostgreSQL.
Services never commit: ``session_scope()`` (CLI, workers) or the request dependency owns the
transaction.
"""

from __future__ import annotations

import enum
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, Enum, MetaData, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def enum_column(cls: type[enum.Enum], length: int = 20) -> Enum:
    """An enum stored as its values in a VARCHAR (same on SQLite and PostgreSQL; adding a value
    needs no migration)."""
    return Enum(
        cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware, on both databases."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(value: Any) -> str:
    """JSON with sorted keys, no insignificant whitespace and characters as they are: how every
    JSON column is written, so an event's payload is stored as the text its ledger leaf holds
    (the audit then re-derives a leaf without parsing and re-encoding the payload)."""
    return _CANONICAL_JSON.encode(value)


IDLE_IN_TRANSACTION_TIMEOUT = 60.0


def make_engine(
    url: str,
    *,
    echo: bool = False,
    statement_timeout: float = 0.0,
    idle_in_transaction_timeout: float = IDLE_IN_TRANSACTION_TIMEOUT,
    **kwargs: Any,
) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys, a busy timeout and real BEGINs.
    JSON columns are written as :func:`canonical_json`.

    On PostgreSQL a transaction left idle for ``idle_in_transaction_timeout`` seconds (a client
    that died or hangs mid-transaction) is ended by the server, and with ``statement_timeout``
    (seconds; 0: none) so is a statement running longer: an open transaction holds the event
    spine's consumers back (``core.events``), so none may stay open for ever."""
    parsed = make_url(url)
    kwargs.setdefault("json_serializer", canonical_json)
    if parsed.get_backend_name() == "sqlite":
        on_disk = bool(parsed.database) and parsed.database != ":memory:"
        if on_disk:
            Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        _configure_sqlite(
            engine, lock_file=Path(f"{parsed.database}-writer.lock") if on_disk else None
        )
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    options = f"-c idle_in_transaction_session_timeout={round(idle_in_transaction_timeout * 1000)}"
    options += f" -c statement_timeout={round(statement_timeout * 1000)}"
    connect_args = {**kwargs.pop("connect_args", {}), "options": options}
    engine = create_engine(url, echo=echo, connect_args=connect_args, **kwargs)
    _track_writes(engine)
    return engine


WROTE = "shulian_wrote"
_WRITES = ("INSERT", "UPDATE", "DELETE")


def _track_writes(engine: Engine) -> None:
    """Remember on each connection whether its transaction has changed rows yet (so it has a
    transaction id on PostgreSQL; see ``core.events``): one check per statement, no query. A
    savepoint rolled back after a write keeps the flag: its parent transaction took an id
    before the savepoint's could be taken."""

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.info[WROTE] = False

    @event.listens_for(engine, "after_cursor_execute")
    def _on_execute(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        # Only a statement that changed rows surely took an id (an UPDATE matching nothing
        # takes none); in doubt, record() asks for one.
        if (
            not conn.info.get(WROTE)
            and (cursor.rowcount or 0) > 0
            and statement.lstrip()[:6].upper() in _WRITES
        ):
            conn.info[WROTE] = True


def has_written(session: Session) -> bool:
    """Whether the session's transaction has already written (PostgreSQL engines of
    ``make_engine``; always False elsewhere)."""
    return bool(session.connection().info.get(WROTE))


SQLITE_BUSY_SECONDS = 30


class _FileLock:
    """An exclusive ``flock`` on a file beside the database, shared by every process that opens
    the database through ``make_engine`` (``serve`` workers, a CLI import beside them); the
    kernel drops it if its holder dies. A waiter polls every millisecond at most (SQLite's busy
    handler naps up to 100 ms). ``acquire`` gives up after ``timeout`` seconds and returns False:
    SQLite's own busy timeout then decides. Without ``fcntl`` (Windows) it does nothing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self.held = False

    def acquire(self, timeout: float) -> bool:
        if fcntl is None:
            return False
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline, nap = time.monotonic() + timeout, 0.0001
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self.held = True
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(nap)
                nap = min(nap * 2, 0.001)

    def release(self) -> None:
        """Let the next process in, if this one holds the lock."""
        if self.held and fcntl is not None and self._fd is not None:
            self.held = False
            fcntl.flock(self._fd, fcntl.LOCK_UN)


def _configure_sqlite(engine: Engine, *, lock_file: Path | None) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself; pysqlite's implicit transactions break savepoints.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
        cur.close()

    # SQLite's busy handler makes a waiting writer sleep and retry (up to 100 ms a nap), so
    # under load writers queue badly: long tails, starved threads. Writers of this engine first
    # queue on a lock of our own, handed over the moment a transaction ends: a thread lock within
    # the process, then a file lock between processes (several ``serve`` workers, a CLI import
    # beside them). The busy timeout remains for programs that do not take the file lock.
    writer = threading.Lock()
    across = _FileLock(lock_file) if lock_file is not None else None
    holders: set[int] = set()  # ids of the DBAPI connections holding ``writer`` (and ``across``)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A writer takes the lock up front (IMMEDIATE), so two writers queue instead of failing
        # on a lock upgrade; read-only units of work begin DEFERRED.
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        dbapi = conn.connection.dbapi_connection
        if (
            mode == "IMMEDIATE"
            and id(dbapi) not in holders
            and writer.acquire(timeout=SQLITE_BUSY_SECONDS)
        ):
            holders.add(id(dbapi))
            if across is not None:
                across.acquire(SQLITE_BUSY_SECONDS)
        try:
            conn.exec_driver_sql(f"BEGIN {mode}")
        except BaseException:
            _release(dbapi)
            raise

    def _release(dbapi: Any) -> None:
        # do_commit / do_rollback are handed the pool's proxy, the checkin event the raw one.
        dbapi = getattr(dbapi, "dbapi_connection", dbapi)
        if id(dbapi) in holders:
            holders.discard(id(dbapi))
            try:
                if across is not None:
                    across.release()
            finally:
                writer.release()

    # Handed over once SQLite has committed (not before: the next writer would meet SQLite's
    # lock still held and fall into the sleeping busy handler while holding ours).
    dialect = engine.dialect
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def do_commit(dbapi: Any) -> None:
        try:
            commit(dbapi)
        finally:
            _release(dbapi)

    def do_rollback(dbapi: Any) -> None:
        try:
            rollback(dbapi)
        finally:
            _release(dbapi)

    dialect.do_commit = do_commit  # type: ignore[method-assign,assignment]
    dialect.do_rollback = do_rollback  # type: ignore[method-assign,assignment]
    event.listen(engine.pool, "checkin", lambda dbapi, _record: _release(dbapi))


def make_sessionmaker(engine: Engine, *, readonly: bool = False) -> sessionmaker[Session]:
    """Sessions on ``engine``; ``readonly`` ones do not take SQLite's write lock up front."""
    bind = engine.execution_options(sqlite_begin="DEFERRED") if readonly else engine
    return sessionmaker(bind=bind, expire_on_commit=False, autoflush=True)


def transaction_cache(session: Session) -> dict[str, Any]:
    """A dict that lives as long as the session's current transaction: for lookups a unit of
    work repeats (a branch by its code, the circulation options), which another transaction
    may change, so they are never kept beyond this one. Outside a transaction: a fresh dict."""
    tx = session.get_transaction()
    if tx is None:
        return {}
    held = session.info.get("shulian.transaction_cache")
    if held is None or held[0] is not tx:
        held = (tx, {})
        session.info["shulian.transaction_cache"] = held
    cache: dict[str, Any] = held[1]
    return cache


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
