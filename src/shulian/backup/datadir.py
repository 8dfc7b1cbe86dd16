"""The files of the data directory that a backup carries: those the platform cannot rebuild.

- ``secret_key``: keys reader pseudonyms in the ledger and signs sessions; without it the
  ledger's leaves cannot be recomputed and ``ledger verify`` fails.
- ``ledger/``: the checkpoint signing key and its verifier key (``ledger.key``, ``ledger.vkey``)
  and a witness key when there is one.
- ``digital/``: files of the digital resources attached to records.

Not the search index (``search/``): it is rebuilt from the database.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from shulian.backup.archive import CHUNK, ArchiveReader, FileEntry
from shulian.backup.errors import ArchiveCorrupt, KeyFileDiffers

SECRET = "secret_key"  # noqa: S105 (the file's name)
FOLDERS = ("ledger", "digital")


def files_to_keep(data_dir: Path) -> Iterator[tuple[str, Path]]:
    """(path relative to the data directory, absolute path) of every file a backup carries."""
    secret = data_dir / SECRET
    if secret.is_file():
        yield SECRET, secret
    for folder in FOLDERS:
        root = data_dir / folder
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.is_symlink():
                yield path.relative_to(data_dir).as_posix(), path


def _target(data_dir: Path, entry: FileEntry) -> Path:
    rel = PurePosixPath(entry.path)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise ArchiveCorrupt(entry.member, f"unsafe path {entry.path!r}")
    return data_dir.joinpath(*rel.parts)


def _sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            sha.update(chunk)
    return sha.hexdigest()


def plan(data_dir: Path, entries: list[FileEntry], *, force: bool) -> list[FileEntry]:
    """The entries to write (those missing or different).

    Raises: KeyFileDiffers for the first file that exists with other content, unless ``force``.
    """
    todo = []
    for entry in entries:
        path = _target(data_dir, entry)
        if path.is_file() and _sha256(path) == entry.sha256:
            continue
        if path.exists() and not force:
            raise KeyFileDiffers(entry.path)
        todo.append(entry)
    return todo


def write(data_dir: Path, reader: ArchiveReader, entries: list[FileEntry]) -> None:
    """Write each file owner-only, through a temporary name, so none is ever half there."""
    for entry in entries:
        path = _target(data_dir, entry)
        for parent in reversed(path.relative_to(data_dir).parents):
            folder = data_dir / parent
            if not folder.exists():
                folder.mkdir(mode=0o700, parents=True)
        tmp = path.with_name(f".{path.name}.restoring")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                reader.copy_file(entry, out)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
