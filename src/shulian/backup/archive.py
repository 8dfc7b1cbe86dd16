"""The archive: one tar file holding one gzip-compressed JSON-lines member per table, the data
directory's files, and ``manifest.json`` last.

The manifest names every member with its size and SHA-256, so a restore checks the whole archive
before it writes anything. It comes last because it can only be written once every member is
complete: an archive without it was cut short. Each table member holds one JSON array per row,
in the column order the manifest gives, with each value encoded by its column's kind (bytes in
base64, timestamps in ISO 8601 with their zone, decimals as strings, JSON columns as they are).
"""

from __future__ import annotations

import base64
import enum
import gzip
import hashlib
import io
import json
import os
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time as dtime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Time,
)
from sqlalchemy.types import TypeEngine

from shulian.backup.errors import ArchiveCorrupt, NotABackup

FORMAT = "shulian-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CHUNK = 1 << 20

Kind = str  # int, str, bool, float, decimal, bytes, datetime, date, time, json


class UnsupportedColumn(TypeError):
    pass


def kind_of(type_: TypeEngine[Any]) -> Kind:
    """How a column's values are written, from its (reflected) SQL type."""
    checks: tuple[tuple[type[TypeEngine[Any]], Kind], ...] = (
        (JSON, "json"),
        (LargeBinary, "bytes"),
        (DateTime, "datetime"),
        (Date, "date"),
        (Time, "time"),
        (Boolean, "bool"),
        (Integer, "int"),
        (Float, "float"),
        (Numeric, "decimal"),
        (String, "str"),
    )
    for cls, kind in checks:
        if isinstance(type_, cls):
            return kind
    raise UnsupportedColumn(f"no archive encoding for column type {type_!r}")


def encoder(kind: Kind) -> Callable[[Any], Any]:
    """Turns a database value of ``kind`` into a JSON value. Timestamps without a zone are UTC:
    the platform stores every timestamp in UTC (SQLite keeps them without a zone)."""

    def dt(v: datetime) -> str:
        return (v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)).isoformat()

    def plain(v: Any) -> Any:
        return v.value if isinstance(v, enum.Enum) else v

    table: dict[Kind, Callable[[Any], Any]] = {
        "bytes": lambda v: base64.b64encode(bytes(v)).decode(),
        "datetime": dt,
        "date": lambda v: v.isoformat(),
        "time": lambda v: v.isoformat(),
        "decimal": str,
    }
    fn = table.get(kind, plain)
    return lambda v: None if v is None else fn(v)


def decoder(kind: Kind, *, naive_utc: bool = False) -> Callable[[Any], Any]:
    """The inverse of :func:`encoder`; ``naive_utc`` gives timestamps as naive UTC (for SQLite
    and for columns without a zone)."""

    def dt(v: str) -> datetime:
        parsed = datetime.fromisoformat(v)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC).replace(tzinfo=None) if naive_utc else parsed

    table: dict[Kind, Callable[[Any], Any]] = {
        "bytes": lambda v: base64.b64decode(v),
        "datetime": dt,
        "date": date.fromisoformat,
        "time": dtime.fromisoformat,
        "decimal": Decimal,
    }
    fn = table.get(kind)
    if fn is None:
        return lambda v: v
    return lambda v: None if v is None else fn(v)


# --- the manifest ------------------------------------------------------------------------


@dataclass
class TableEntry:
    name: str
    member: str
    rows: int
    columns: list[tuple[str, Kind]]
    sha256: str = ""
    size: int = 0


@dataclass
class FileEntry:
    path: str  # relative to the data directory, with "/"
    member: str
    sha256: str = ""
    size: int = 0


@dataclass
class Manifest:
    revision: str
    created_at: str
    dialect: str
    shulian_version: str
    tables: list[TableEntry] = field(default_factory=list)
    files: list[FileEntry] = field(default_factory=list)
    secret_in_archive: bool = False
    ledger_leaves: int = 0
    ledger_checkpoint: int = 0  # tree size of the newest checkpoint, 0 when none
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        try:
            raw = json.loads(data)
        except ValueError as exc:
            raise ArchiveCorrupt(MANIFEST, f"not valid JSON ({exc})") from None
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise NotABackup(f"{MANIFEST} does not describe a {FORMAT}")
        if raw.get("format_version") != FORMAT_VERSION:
            raise NotABackup(
                f"format version {raw.get('format_version')!r}; this Shulian reads "
                f"version {FORMAT_VERSION}"
            )
        try:
            tables = [
                TableEntry(**{**t, "columns": [(c, k) for c, k in t["columns"]]})
                for t in raw.pop("tables")
            ]
            files = [FileEntry(**f) for f in raw.pop("files")]
            return cls(**raw, tables=tables, files=files)
        except (KeyError, TypeError, ValueError) as exc:
            raise ArchiveCorrupt(MANIFEST, f"unexpected content ({exc})") from None


# --- writing -----------------------------------------------------------------------------


class _Hashing(io.RawIOBase):
    """Reads through ``src``, hashing what passes."""

    def __init__(self, src: IO[bytes]) -> None:
        self.src = src
        self.sha = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        data = self.src.read(len(buf))
        self.sha.update(data)
        n = len(data)
        buf[:n] = data
        return n


class ArchiveWriter:
    """Writes ``path`` under a temporary name in the same folder, owner-only, and renames it
    into place by :meth:`finish`; :meth:`abort` (or any exception in a ``with`` block) leaves
    nothing behind."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
        fd = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._fh = os.fdopen(fd, "wb")
        # Held open until finish() or abort(), hence no context manager here.
        self._tar = tarfile.open(  # noqa: SIM115
            fileobj=self._fh, mode="w", format=tarfile.PAX_FORMAT
        )
        self._done = False

    def __enter__(self) -> ArchiveWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._done:
            self.abort()

    def _add(self, name: str, src: IO[bytes], size: int) -> str:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = size, 0o600, int(time.time())
        hashing = _Hashing(src)
        self._tar.addfile(info, io.BufferedReader(hashing, CHUNK))
        return hashing.sha.hexdigest()

    def table_member(self, entry: TableEntry, rows: Iterator[list[Any]]) -> None:
        """Write ``rows`` (JSON-ready lists) as the member of ``entry``, counting them into it.

        The member is compressed into a temporary file beside the archive first, since a tar
        header states the size before the data."""
        with tempfile.TemporaryFile(dir=self.path.parent) as spool:
            with gzip.GzipFile(fileobj=spool, mode="wb", compresslevel=6, mtime=0) as gz:
                buf = io.BufferedWriter(gz, CHUNK)
                n = 0
                for row in rows:
                    buf.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode())
                    buf.write(b"\n")
                    n += 1
                buf.flush()
                buf.detach()
            entry.rows, entry.size = n, spool.tell()
            spool.seek(0)
            entry.sha256 = self._add(entry.member, spool, entry.size)

    def file_member(self, entry: FileEntry, source: Path) -> None:
        with source.open("rb") as fh:
            entry.size = os.fstat(fh.fileno()).st_size
            entry.sha256 = self._add(entry.member, fh, entry.size)

    def finish(self, manifest: Manifest) -> None:
        data = manifest.to_json()
        self._add(MANIFEST, io.BytesIO(data), len(data))
        self._tar.close()
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        os.replace(self.tmp, self.path)
        self._done = True
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def abort(self) -> None:
        self._done = True
        try:
            self._tar.close()
            self._fh.close()
        finally:
            self.tmp.unlink(missing_ok=True)


# --- reading -----------------------------------------------------------------------------


class ArchiveReader:
    """Reads an archive; :meth:`verify` must pass before anything is taken out of it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._tar = tarfile.open(path, mode="r:")  # noqa: SIM115 (closed by close())
        except FileNotFoundError:
            raise NotABackup(f"{path} does not exist") from None
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise NotABackup(f"{path.name} is not a tar archive ({exc})") from None
        self._members: dict[str, tarfile.TarInfo] = {}

    def __enter__(self) -> ArchiveReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._tar.close()

    def verify(self, progress: Callable[[int], None] | None = None) -> Manifest:
        """Read every member once, checking it against the manifest.

        Raises: ArchiveCorrupt naming the first member that is missing, cut short or changed;
        NotABackup.
        """
        digests: dict[str, tuple[int, str]] = {}
        manifest_data: bytes | None = None
        current = "the first member"
        try:
            for info in self._tar:
                if not info.isfile():
                    continue
                current = info.name
                src = self._tar.extractfile(info)
                assert src is not None
                sha, size = hashlib.sha256(), 0
                keep = info.name == MANIFEST
                kept = bytearray()
                while chunk := src.read(CHUNK):
                    sha.update(chunk)
                    size += len(chunk)
                    if keep:
                        kept += chunk
                    if progress:
                        progress(len(chunk))
                if size != info.size:
                    raise ArchiveCorrupt(info.name, "cut short")
                self._members[info.name] = info
                digests[info.name] = (size, sha.hexdigest())
                if keep:
                    manifest_data = bytes(kept)
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise ArchiveCorrupt(current, f"cut short or unreadable ({exc})") from None
        if manifest_data is None:
            if not digests:
                raise NotABackup(f"{self.path.name} holds no files")
            last = list(digests)[-1]
            raise ArchiveCorrupt(
                MANIFEST, f"missing: the archive ends after {last} (was the backup interrupted?)"
            )
        manifest = Manifest.from_json(manifest_data)
        entries: list[TableEntry | FileEntry] = [*manifest.tables, *manifest.files]
        for entry in entries:
            found = digests.get(entry.member)
            if found is None:
                raise ArchiveCorrupt(entry.member, "missing")
            if found[0] != entry.size:
                raise ArchiveCorrupt(entry.member, f"{found[0]} bytes instead of {entry.size}")
            if found[1] != entry.sha256:
                raise ArchiveCorrupt(entry.member, "its SHA-256 does not match the manifest")
        return manifest

    def rows(self, entry: TableEntry) -> Iterator[list[Any]]:
        """The rows of a table member, as JSON values (decode them with :func:`decoder`)."""
        src = self._tar.extractfile(self._members[entry.member])
        assert src is not None
        with gzip.GzipFile(fileobj=src, mode="rb") as gz:
            for line in io.BufferedReader(gz, CHUNK):
                row = json.loads(line)
                if not isinstance(row, list) or len(row) != len(entry.columns):
                    raise ArchiveCorrupt(entry.member, "a row does not match the columns")
                yield row

    def copy_file(self, entry: FileEntry, out: IO[bytes]) -> None:
        src = self._tar.extractfile(self._members[entry.member])
        assert src is not None
        while chunk := src.read(CHUNK):
            out.write(chunk)

    @property
    def size(self) -> int:
        return self.path.stat().st_size
