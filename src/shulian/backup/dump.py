"""``create_backup``: a consistent snapshot of a library, taken while it runs.

Every table is read inside one read-only transaction: REPEATABLE READ on PostgreSQL (as
``pg_dump`` does), one deferred transaction on SQLite in WAL mode (its snapshot is fixed by the
first read). So the ledger's leaves, nodes and checkpoints in the archive agree with the events
and the tables they came from, however many desks lend meanwhile. Rows are streamed (server-side
cursors on PostgreSQL), so memory stays flat whatever the size of the library. The tables are
read from the database itself (reflected), so a database at an older schema revision is backed
up as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, MetaData, Table, func, select

import shulian
from shulian.backup import datadir
from shulian.backup.archive import ArchiveWriter, FileEntry, Manifest, TableEntry, encoder, kind_of
from shulian.backup.errors import NotAShulianDatabase

Progress = Callable[[str, int, int], None]
"""Called with (table, rows written so far, rows in the table)."""

#: Not in an archive: the schema's revision (the manifest says it), and the login sessions: a
#: backup restored later must not bring back a login that was ended since (a stolen cookie,
#: a disabled colleague's token). After a restore everyone logs in again.
SKIPPED = frozenset({"alembic_version", "login_sessions"})


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """One read-only transaction that sees a single state of the whole database."""
    if engine.dialect.name == "postgresql":
        conn = engine.connect().execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
    else:
        conn = engine.execution_options(sqlite_begin="DEFERRED").connect()
    with conn, conn.begin():
        yield conn


def reflect(conn: Connection) -> list[Table]:
    """The library's tables, parents before children."""
    meta = MetaData()
    meta.reflect(conn)
    return [t for t in meta.sorted_tables if t.name not in SKIPPED]


def _rows(conn: Connection, table: Table, batch: int) -> Iterator[Any]:
    stmt = select(table).order_by(*(table.primary_key.columns or table.columns))
    result = conn.execute(stmt, execution_options={"yield_per": batch})
    for part in result.partitions():
        yield from part


def create_backup(
    engine: Engine,
    *,
    data_dir: Path,
    path: Path,
    now: datetime,
    progress: Progress | None = None,
    batch: int = 2000,
) -> Manifest:
    """Write the archive ``path`` (owner-only; complete or not there at all) from the database
    on ``engine`` and the files of ``data_dir`` it cannot rebuild.

    Raises: NotAShulianDatabase (no schema revision); OSError when ``path`` cannot be written.
    """
    with ArchiveWriter(path) as writer, snapshot(engine) as conn:
        revision = MigrationContext.configure(conn).get_current_revision()
        if revision is None:
            raise NotAShulianDatabase("it has no schema revision (run `shulian db upgrade`)")
        tables = reflect(conn)
        counts = {t.name: conn.scalar(select(func.count()).select_from(t)) or 0 for t in tables}
        manifest = Manifest(
            revision=revision,
            created_at=now.isoformat(),
            dialect=engine.dialect.name,
            shulian_version=shulian.__version__,
        )
        for table in tables:
            entry = TableEntry(
                name=table.name,
                member=f"tables/{table.name}.jsonl.gz",
                rows=0,
                columns=[(c.name, kind_of(c.type)) for c in table.columns],
            )
            encoders = [encoder(kind) for _, kind in entry.columns]
            total = counts[table.name]

            def rows(
                table: Table = table, total: int = total, encoders: list[Any] = encoders
            ) -> Iterator[list[Any]]:
                done = 0
                for row in _rows(conn, table, batch):
                    yield [enc(v) for enc, v in zip(encoders, row, strict=True)]
                    done += 1
                    if progress and done % batch == 0:
                        progress(table.name, done, total)
                if progress:
                    progress(table.name, done, total)

            writer.table_member(entry, rows())
            manifest.tables.append(entry)
        if "ledger_leaves" in counts and "ledger_checkpoints" in counts:
            checkpoints = next(t for t in tables if t.name == "ledger_checkpoints")
            manifest.ledger_leaves = counts["ledger_leaves"]
            manifest.ledger_checkpoint = conn.scalar(select(func.max(checkpoints.c.tree_size))) or 0
        for rel, source in datadir.files_to_keep(data_dir):
            entry_f = FileEntry(path=rel, member=f"files/{rel}")
            writer.file_member(entry_f, source)
            manifest.files.append(entry_f)
        manifest.secret_in_archive = any(f.path == datadir.SECRET for f in manifest.files)
        writer.finish(manifest)
    return manifest
