"""``restore_backup``: bring an archive back into an empty database and its data directory.

Order of work, so that a refusal or an interruption leaves nothing half done:

1. Read the whole archive once and check every member against the manifest; refuse an
   archive from a schema revision this code does not know, and key files in the data directory
   that differ from the archive's (unless ``force``).
2. Bring an empty database to the archive's revision (a blank one is migrated, an empty
   migrated one moved up or down); a database holding data is refused, unless ``force`` and it
   is at the archive's revision.
3. In ONE transaction: empty every table (the rows migrations seed, or everything with
   ``force``), insert the archive's rows parents first in batches, set PostgreSQL's sequences
   past the restored ids. Any error or Ctrl-C rolls all of it back.
4. Migrate to the newest revision when the archive is older.
5. Write the data directory's files, owner-only.

The search index is not in the archive: rebuild it with ``shulian search reindex``.
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, Integer, Table, func, inspect, select, text
from sqlalchemy.exc import DBAPIError

from shulian.backup import datadir
from shulian.backup.archive import ArchiveReader, Manifest, TableEntry, decoder
from shulian.backup.dump import reflect
from shulian.backup.errors import (
    ArchiveCorrupt,
    ArchiveFromNewerVersion,
    DatabaseAtOtherRevision,
    DatabaseNotEmpty,
    NotAShulianDatabase,
    RestoreFailed,
)
from shulian.core.db import make_engine
from shulian.migrations import alembic_config, current_revision, upgrade

Progress = Callable[[str, int, int], None]
"""Called with (table, rows inserted so far, rows in the table)."""


@dataclass
class RestoreReport:
    manifest: Manifest
    files_written: list[str] = field(default_factory=list)
    upgraded_to: str | None = None  # the newest revision, when the archive was older


def known_revisions() -> list[str]:
    """This code's schema revisions, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def _downgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as conn:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


@functools.cache
def seeded_counts(revision: str) -> dict[str, int]:
    """Rows per table that the migrations alone put in a new database at ``revision`` (roles,
    reader categories, default loan rules): such a database still counts as empty."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'pristine.db'}")
        try:
            upgrade(engine, revision)
            with engine.connect() as conn:
                return _counts(conn, reflect(conn))
        finally:
            engine.dispose()


def _counts(conn: Connection, tables: Sequence[Table]) -> dict[str, int]:
    return {t.name: conn.scalar(select(func.count()).select_from(t)) or 0 for t in tables}


def _holding_data(conn: Connection, tables: Sequence[Table], revision: str) -> list[str]:
    seeded = seeded_counts(revision)
    return [name for name, n in _counts(conn, tables).items() if n != seeded.get(name, 0)]


def _named(tables: list[str]) -> str:
    shown = ", ".join(tables[:5])
    return shown + (f" and {len(tables) - 5} more tables" if len(tables) > 5 else "")


def _prepare_schema(engine: Engine, revision: str, order: list[str]) -> None:
    """Bring an empty database to ``revision``.

    Raises: NotAShulianDatabase, DatabaseAtOtherRevision."""
    current = current_revision(engine)
    if current == revision:
        return
    if current is None:
        foreign = sorted(set(inspect(engine).get_table_names()) - {"alembic_version"})
        if foreign:
            raise NotAShulianDatabase(f"it has tables ({_named(foreign)}) but no schema revision")
        upgrade(engine, revision)
        return
    if current not in order:
        raise NotAShulianDatabase(f"its schema revision {current} is unknown to this Shulian")
    with engine.connect() as conn:
        if _holding_data(conn, reflect(conn), current):
            raise DatabaseAtOtherRevision(current, revision)
    if order.index(current) < order.index(revision):
        upgrade(engine, revision)
    else:
        _downgrade(engine, revision)


def _first_line(exc: DBAPIError) -> str:
    # The first line says what is wrong; PostgreSQL's DETAIL lines quote the row (personal data).
    return str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__


def _load(
    conn: Connection,
    reader: ArchiveReader,
    table: Table,
    entry: TableEntry,
    *,
    batch: int,
    progress: Progress | None,
) -> None:
    names = [c for c, _ in entry.columns]
    for name in names:
        if name not in table.c:
            raise RestoreFailed(table.name, f"the database has no column {name}")
    decoders = [
        decoder(kind, naive_utc=not getattr(table.c[name].type, "timezone", False))
        for name, kind in entry.columns
    ]
    # A column pointing into its own table (a branch's parent) is filled in once every row is
    # there, so rows may come in any order.
    self_refs = [
        c.name
        for c in table.columns
        if c.nullable and any(fk.column.table is table for fk in c.foreign_keys)
    ]
    keys = [c.name for c in table.primary_key.columns]
    later: list[tuple[dict[str, Any], dict[str, Any]]] = []
    pending: list[dict[str, Any]] = []
    done = 0

    def flush() -> None:
        if pending:
            conn.execute(table.insert(), pending)
            pending.clear()

    for raw in reader.rows(entry):
        row = {name: dec(v) for name, dec, v in zip(names, decoders, raw, strict=True)}
        refs = {c: row[c] for c in self_refs if row.get(c) is not None}
        if refs:
            later.append(({k: row[k] for k in keys}, refs))
            row.update(dict.fromkeys(refs))
        pending.append(row)
        done += 1
        if len(pending) >= batch:
            flush()
            if progress:
                progress(table.name, done, entry.rows)
    flush()
    for key, refs in later:
        conn.execute(
            table.update().where(*(table.c[k] == v for k, v in key.items())).values(**refs)
        )
    if progress:
        progress(table.name, done, entry.rows)
    if done != entry.rows:
        raise ArchiveCorrupt(entry.member, f"{done} rows instead of {entry.rows}")


def _reset_sequences(conn: Connection, tables: Sequence[Table]) -> None:
    """Rows came with their ids: move each PostgreSQL sequence past the largest."""
    for table in tables:
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not isinstance(pk[0].type, Integer):
            continue
        seq = conn.scalar(
            text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": pk[0].name}
        )
        if seq is None:
            continue
        top = conn.scalar(select(func.max(pk[0])))
        if top is None:
            conn.execute(text("SELECT setval(CAST(:s AS regclass), 1, false)"), {"s": seq})
        else:
            conn.execute(text("SELECT setval(CAST(:s AS regclass), :v)"), {"s": seq, "v": top})


def restore_backup(
    engine: Engine,
    *,
    data_dir: Path,
    path: Path,
    force: bool = False,
    progress: Progress | None = None,
    checking: Callable[[int], None] | None = None,
    batch: int = 1000,
) -> RestoreReport:
    """Restore the archive ``path`` into the database on ``engine`` and into ``data_dir``.

    ``checking`` is called with the bytes read while the archive is checked.

    Raises: NotABackup, ArchiveCorrupt (naming the member), ArchiveFromNewerVersion,
    KeyFileDiffers, NotAShulianDatabase, DatabaseNotEmpty, DatabaseAtOtherRevision,
    RestoreFailed. The database and the data directory are untouched by any of them.
    """
    with ArchiveReader(path) as reader:
        manifest = reader.verify(checking)
        order = known_revisions()
        if manifest.revision not in order:
            raise ArchiveFromNewerVersion(manifest.revision, order[-1])
        files = datadir.plan(data_dir, manifest.files, force=force)
        _prepare_schema(engine, manifest.revision, order)
        seeded_counts(manifest.revision)  # before the transaction: it takes a moment
        report = RestoreReport(manifest=manifest)
        with engine.begin() as conn:
            tables = reflect(conn)
            occupied = _holding_data(conn, tables, manifest.revision)
            if occupied and not force:
                raise DatabaseNotEmpty(_named(occupied))
            by_name = {t.name: t for t in tables}
            for entry in manifest.tables:
                if entry.name not in by_name:
                    raise RestoreFailed(entry.name, "the database has no such table")
            for table in reversed(tables):
                conn.execute(table.delete())
            entries = {e.name: e for e in manifest.tables}
            for table in tables:
                if table.name not in entries:
                    continue
                try:
                    _load(conn, reader, table, entries[table.name], batch=batch, progress=progress)
                except DBAPIError as exc:
                    raise RestoreFailed(table.name, _first_line(exc)) from None
            if conn.dialect.name == "postgresql":
                _reset_sequences(conn, tables)
        if manifest.revision != order[-1]:
            upgrade(engine)
            report.upgraded_to = order[-1]
        datadir.write(data_dir, reader, files)
        report.files_written = [f.path for f in files]
    return report
