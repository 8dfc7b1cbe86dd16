"""Backup and restore on real databases (the suite's kind, and SQLite -> PostgreSQL): a backup
taken while desks lend restores into a fresh database whose ledger verifies and keeps growing
consistently with the checkpoints in the backup; damaged or unsuitable archives are refused with
nothing written."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import stat
import tarfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, func, inspect, select, table, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from shulian.accounts import service as accounts_service
from shulian.backup import errors
from shulian.backup.archive import Manifest
from shulian.backup.dump import create_backup
from shulian.backup.restore import RestoreReport, restore_backup
from shulian.circulation import service as circ
from shulian.cli import app as cli
from shulian.core.db import make_engine, make_sessionmaker, session_scope
from shulian.core.events import ConsumerOffset
from shulian.ledger import merkle, service as ledger_service
from shulian.ledger.models import LedgerCheckpoint, LedgerLeaf
from shulian.ledger.note import Signer, load_or_create_signer, open_checkpoint
from shulian.migrations import current_revision, upgrade
from tests.conftest import NOW, PG_URL, fresh_database
from tests.factories.circulation import make_library

ORIGIN = "shulian.local/ledger"  # Settings.ledger_origin's default, which the CLI signs with
LOCAL_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


# --- databases -----------------------------------------------------------------------------


@pytest.fixture
def engines() -> Iterator[Callable[[str], Engine]]:
    made: list[Engine] = []

    def make(url: str) -> Engine:
        eng = make_engine(url)
        made.append(eng)
        return eng

    yield make
    for eng in made:
        eng.dispose()


@pytest.fixture
def postgres_db_url() -> Iterator[str]:
    """An empty PostgreSQL database: the suite's server, else the local one, else skip."""
    server = PG_URL or LOCAL_PG
    probe = create_engine(server)
    try:
        with probe.connect():
            pass
    except OperationalError:
        pytest.skip("no PostgreSQL server to restore into")
    finally:
        probe.dispose()
    with fresh_database(None, name="restore", server_url=server) as url:
        yield url


# --- a library that lends ------------------------------------------------------------------


@dataclass
class Library:
    factory: sessionmaker[Session]
    data_dir: Path
    readers: list[int]
    barcodes: list[str]
    lent: list[int] = field(default_factory=lambda: [0])

    @property
    def secret(self) -> str:
        return (self.data_dir / "secret_key").read_text().strip()

    @property
    def signer(self) -> Signer:
        return load_or_create_signer(self.data_dir / "ledger", ORIGIN)

    def lend_and_return(self, i: int) -> None:
        barcode = self.barcodes[i % len(self.barcodes)]
        with session_scope(self.factory) as s:
            circ.check_out(
                s,
                reader_id=self.readers[i % len(self.readers)],
                barcode=barcode,
                branch="CEN",
                actor="test",
                now=NOW,
            )
        with session_scope(self.factory) as s:
            circ.check_in(s, barcode=barcode, branch="CEN", actor="test", now=NOW)
        self.lent[0] += 1

    def ledger(self) -> None:
        """What the ledger worker does: take in new events, sign a checkpoint."""
        ledger_service.catch_up(self.factory, secret=self.secret, now=NOW)
        with session_scope(self.factory) as s:
            ledger_service.issue_checkpoint(s, signer=self.signer, now=NOW)


def _open(url: str, data_dir: Path, engines: Callable[[str], Engine], *, build: bool) -> Library:
    factory = make_sessionmaker(engines(url))
    if not build:
        return Library(factory, data_dir, [], [])
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / "secret_key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("secret-" + uuid.uuid4().hex)
    with session_scope(factory) as s:
        lib = make_library(s, readers=3, copies=("CEN", "CEN", "CEN"))
        readers = [r.id for r in lib.readers]
        barcodes = [i.barcode for i in lib.items]
    library = Library(factory, data_dir, readers, barcodes)
    for i in range(4):
        library.lend_and_return(i)
    library.ledger()
    return library


@pytest.fixture
def library(scratch_db_url: str, tmp_path: Path, engines: Callable[[str], Engine]) -> Library:
    return _open(scratch_db_url, tmp_path / "var", engines, build=True)


def _counts(factory: sessionmaker[Session], manifest: Manifest) -> dict[str, int]:
    with session_scope(factory) as s:
        return {
            t.name: s.scalar(select(func.count()).select_from(table(t.name))) or 0
            for t in manifest.tables
        }


def _verify(lib: Library) -> None:
    """The ledger of ``lib`` verifies with its own secret and key, and is whole."""
    with session_scope(lib.factory) as s:
        report = ledger_service.verify_tree(s, verifier=lib.signer.verifier, secret=lib.secret)
        assert report.ok, report.problems
        leaves = s.scalar(select(func.count()).select_from(LedgerLeaf))
        assert ledger_service.tree_size(s) == leaves == report.leaves
        last_leaf = s.scalar(select(func.max(LedgerLeaf.event_seq)))
        offset = s.get(ConsumerOffset, "ledger")
        assert offset is not None and offset.last_seq == last_leaf


def _backup(lib: Library, path: Path, **kwargs: Any) -> Manifest:
    engine = lib.factory.kw["bind"]
    return create_backup(engine, data_dir=lib.data_dir, path=path, now=NOW, **kwargs)


def _restore(
    url: str, data_dir: Path, path: Path, engines: Callable[[str], Engine], **kw: Any
) -> RestoreReport:
    return restore_backup(engines(url), data_dir=data_dir, path=path, **kw)


# --- behaviour -----------------------------------------------------------------------------


class TestBackupWhileLending:
    def test_restores_a_verified_ledger_and_the_rows_of_one_moment(
        self,
        library: Library,
        empty_db_url: str,
        tmp_path: Path,
        engines: Callable[[str], Engine],
    ) -> None:
        stop, failures = threading.Event(), []

        def desk() -> None:
            i = 0
            while not stop.is_set():
                try:
                    library.lend_and_return(i)
                    if i % 3 == 0:
                        library.ledger()
                except Exception as exc:  # any failure of the platform under backup
                    failures.append(repr(exc))
                    return
                i += 1

        waited: list[int] = []

        def hold_the_snapshot_open(table: str, done: int, total: int) -> None:
            # While the snapshot is open, let the desk lend a few times (and the ledger grow).
            if not waited:
                start, deadline = library.lent[0], time.monotonic() + 60
                while library.lent[0] < start + 4 and time.monotonic() < deadline:
                    time.sleep(0.01)
                waited.append(library.lent[0] - start)

        thread = threading.Thread(target=desk)
        thread.start()
        try:
            while library.lent[0] < 8:
                time.sleep(0.01)
            archive = tmp_path / "live.tar"
            manifest = _backup(library, archive, progress=hold_the_snapshot_open)
        finally:
            stop.set()
            thread.join(60)
        assert failures == []
        assert waited and waited[0] >= 4  # the desk lent while the backup ran

        with session_scope(library.factory) as s:
            events_now = s.scalar(text("SELECT count(*) FROM events"))
        assert manifest.tables and events_now > _table(manifest, "events").rows

        _restore(empty_db_url, tmp_path / "restored", archive, engines)
        restored = _open(empty_db_url, tmp_path / "restored", engines, build=False)
        assert _counts(restored.factory, manifest) == {t.name: t.rows for t in manifest.tables}
        _verify(restored)
        with session_scope(restored.factory) as s:
            latest = ledger_service.latest_checkpoint(s)
            assert latest is not None and latest.tree_size == manifest.ledger_checkpoint
            assert ledger_service.tree_size(s) == manifest.ledger_leaves

    def test_new_checkpoints_after_a_restore_extend_the_backed_up_ones(
        self,
        library: Library,
        empty_db_url: str,
        tmp_path: Path,
        engines: Callable[[str], Engine],
    ) -> None:
        with session_scope(library.factory) as s:
            old = ledger_service.latest_checkpoint(s)
            assert old is not None
            old_size, old_root = old.tree_size, old.root_hash
        archive = tmp_path / "b.tar"
        _backup(library, archive)
        _restore(empty_db_url, tmp_path / "restored", archive, engines)
        restored = _open(empty_db_url, tmp_path / "restored", engines, build=False)
        restored.readers, restored.barcodes = library.readers, library.barcodes
        for i in range(5):  # new loans get new ids (PostgreSQL's sequences were moved on)
            restored.lend_and_return(i)
        restored.ledger()
        with session_scope(restored.factory) as s:
            new = ledger_service.latest_checkpoint(s)
            assert new is not None and new.tree_size > old_size
            proof = ledger_service.consistency_proof(s, first=old_size, second=new.tree_size)
            note = new.note
        # The original library's published key still signs, and the new tree extends the old.
        signed = open_checkpoint(note, library.signer.verifier)
        merkle.verify_consistency(
            first=old_size,
            second=signed.size,
            first_root=old_root,
            second_root=signed.root,
            proof=[bytes.fromhex(p) for p in proof.proof],
        )
        _verify(restored)


def _table(manifest: Manifest, name: str) -> Any:
    return next(t for t in manifest.tables if t.name == name)


def test_a_sqlite_library_moves_to_postgresql(
    tmp_path: Path, postgres_db_url: str, engines: Callable[[str], Engine]
) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'small.db'}"
    upgrade(engines(sqlite_url))
    source = _open(sqlite_url, tmp_path / "var", engines, build=True)
    archive = tmp_path / "move.tar"
    manifest = _backup(source, archive)
    assert manifest.dialect == "sqlite"
    _restore(postgres_db_url, tmp_path / "pg-var", archive, engines)
    moved = _open(postgres_db_url, tmp_path / "pg-var", engines, build=False)
    assert _counts(moved.factory, manifest) == {t.name: t.rows for t in manifest.tables}
    _verify(moved)
    moved.readers, moved.barcodes = source.readers, source.barcodes
    moved.lend_and_return(0)  # the sequences continue past the restored ids
    moved.ledger()
    _verify(moved)
    with session_scope(moved.factory) as s:  # timestamps came through in UTC
        issued = s.scalars(select(LedgerCheckpoint.issued_at)).first()
        assert issued == NOW


def test_a_row_postgresql_refuses_rolls_the_whole_restore_back(
    tmp_path: Path, postgres_db_url: str, engines: Callable[[str], Engine]
) -> None:
    """SQLite never checks a VARCHAR's length; PostgreSQL does. The restore names the table and
    leaves the PostgreSQL database empty."""
    sqlite_url = f"sqlite:///{tmp_path / 'small.db'}"
    upgrade(engines(sqlite_url))
    source = _open(sqlite_url, tmp_path / "var", engines, build=True)
    with session_scope(source.factory) as s:
        s.execute(
            text("UPDATE roles SET name_en = :long WHERE code = 'cataloguer'"), {"long": "x" * 300}
        )
    archive = tmp_path / "long.tar"
    _backup(source, archive)
    with pytest.raises(errors.RestoreFailed, match=r"table roles failed.*too long"):
        _restore(postgres_db_url, tmp_path / "pg-var", archive, engines)
    with engines(postgres_db_url).connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM events")) == 0
        assert conn.scalar(text("SELECT count(*) FROM roles")) > 0  # the seeded ones, back
    assert not (tmp_path / "pg-var").exists()


class TestArchive:
    def test_logins_stay_out_of_the_archive(
        self, library: Library, tmp_path: Path, empty_db_url: str, engines: Callable[[str], Engine]
    ) -> None:
        # A backup restored later must not bring back a login ended since (a stolen cookie).
        with session_scope(library.factory) as s:
            opened = accounts_service.open_session(
                s,
                kind="reader",
                account_id=library.readers[0],
                channel="page",
                now=NOW,
                lifetime=timedelta(hours=8),
            )
        manifest = _backup(library, tmp_path / "b.tar")
        assert "login_sessions" not in {t.name for t in manifest.tables}
        assert "readers" in {t.name for t in manifest.tables}
        restored = _open(empty_db_url, tmp_path / "restored", engines, build=False)
        _restore(empty_db_url, tmp_path / "restored", tmp_path / "b.tar", engines)
        with session_scope(restored.factory) as s:
            found = accounts_service.principal_for_token(
                s, token=opened.token, channel="page", now=NOW
            )
            assert found is None and s.get(accounts_service.Reader, library.readers[0])

    def test_is_owner_only_and_carries_the_keys_not_the_search_index(
        self, library: Library, tmp_path: Path, empty_db_url: str, engines: Callable[[str], Engine]
    ) -> None:
        (library.data_dir / "ledger" / "witness.key").write_bytes(b"w" * 32)
        (library.data_dir / "digital" / "7").mkdir(parents=True)
        (library.data_dir / "digital" / "7" / "map.pdf").write_bytes(b"%PDF-1.4")
        (library.data_dir / "search").mkdir()
        (library.data_dir / "search" / "offset").write_text("12")
        archive = tmp_path / "keys.tar"
        manifest = _backup(library, archive)
        assert stat.S_IMODE(archive.stat().st_mode) == 0o600
        with tarfile.open(archive) as tar:
            names = tar.getnames()
        for key in ("secret_key", "ledger/ledger.key", "ledger/ledger.vkey", "ledger/witness.key"):
            assert f"files/{key}" in names
        assert "files/digital/7/map.pdf" in names
        assert not [n for n in names if "search" in n.split("/")[1:2]]
        assert names[-1] == "manifest.json" and manifest.secret_in_archive
        assert sum(1 for n in names if n.startswith("tables/")) == len(manifest.tables)

        target = tmp_path / "restored"
        _restore(empty_db_url, target, archive, engines)
        for key in ("secret_key", "ledger/ledger.key", "ledger/witness.key", "digital/7/map.pdf"):
            restored = target / key
            assert restored.read_bytes() == (library.data_dir / key).read_bytes()
            assert stat.S_IMODE(restored.stat().st_mode) == 0o600

    def test_an_interrupted_backup_leaves_no_archive(
        self, library: Library, tmp_path: Path
    ) -> None:
        folder = tmp_path / "backups"
        folder.mkdir()

        def interrupt(table: str, done: int, total: int) -> None:
            if table == "items":
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            _backup(library, folder / "b.tar", progress=interrupt)
        assert list(folder.iterdir()) == []


@pytest.fixture(scope="module")
def small_archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One archive of a small library (made on SQLite, the quickest), for the refusals."""
    folder = tmp_path_factory.mktemp("small")
    made: list[Engine] = []

    def make(url: str) -> Engine:
        made.append(make_engine(url))
        return made[-1]

    url = f"sqlite:///{folder / 'small.db'}"
    upgrade(make(url))
    path = folder / "good.tar"
    _backup(_open(url, folder / "var", make, build=True), path)
    yield path
    for eng in made:
        eng.dispose()


class TestRefusals:
    @pytest.fixture
    def archive(self, small_archive: Path, tmp_path: Path) -> Path:
        path = tmp_path / "good.tar"
        path.write_bytes(small_archive.read_bytes())
        return path

    def _untouched(self, url: str, data_dir: Path, engines: Callable[[str], Engine]) -> None:
        engine = engines(url)
        assert current_revision(engine) is None
        assert inspect(engine).get_table_names() == []
        assert not data_dir.exists() or list(data_dir.iterdir()) == []

    def test_a_corrupted_member_is_named_and_nothing_is_written(
        self, archive: Path, empty_db_url: str, tmp_path: Path, engines: Callable[[str], Engine]
    ) -> None:
        with tarfile.open(archive) as tar:
            loans = tar.getmember("tables/loans.jsonl.gz")
        data = bytearray(archive.read_bytes())
        data[loans.offset_data + loans.size // 2] ^= 0xFF
        archive.write_bytes(bytes(data))
        with pytest.raises(errors.ArchiveCorrupt, match=r"tables/loans\.jsonl\.gz.*SHA-256"):
            _restore(empty_db_url, tmp_path / "restored", archive, engines)
        self._untouched(empty_db_url, tmp_path / "restored", engines)

    def test_a_truncated_archive_is_refused_naming_the_member_cut(
        self, archive: Path, empty_db_url: str, tmp_path: Path, engines: Callable[[str], Engine]
    ) -> None:
        with tarfile.open(archive) as tar:
            events = tar.getmember("tables/events.jsonl.gz")
        with archive.open("r+b") as fh:
            fh.truncate(events.offset_data + events.size // 2)
        with pytest.raises(errors.ArchiveCorrupt, match=r"tables/events\.jsonl\.gz.*cut short"):
            _restore(empty_db_url, tmp_path / "restored", archive, engines)
        self._untouched(empty_db_url, tmp_path / "restored", engines)

    def test_an_archive_cut_between_members_misses_its_manifest(
        self, archive: Path, empty_db_url: str, tmp_path: Path, engines: Callable[[str], Engine]
    ) -> None:
        with tarfile.open(archive) as tar:
            manifest = tar.getmember("manifest.json")
        with archive.open("r+b") as fh:
            fh.truncate(manifest.offset)
        with pytest.raises(errors.ArchiveCorrupt, match=r"manifest\.json: missing"):
            _restore(empty_db_url, tmp_path / "restored", archive, engines)
        self._untouched(empty_db_url, tmp_path / "restored", engines)

    def test_a_database_holding_data_is_refused(
        self,
        archive: Path,
        library: Library,
        scratch_db_url: str,
        tmp_path: Path,
        engines: Callable[[str], Engine],
    ) -> None:
        manifest_rows = _counts(library.factory, _manifest(archive))
        with pytest.raises(errors.DatabaseNotEmpty, match="events"):
            _restore(scratch_db_url, tmp_path / "other", archive, engines)
        assert _counts(library.factory, _manifest(archive)) == manifest_rows

    def test_force_replaces_another_library(
        self,
        archive: Path,
        empty_db_url: str,
        tmp_path: Path,
        engines: Callable[[str], Engine],
    ) -> None:
        upgrade(engines(empty_db_url))
        other = _open(empty_db_url, tmp_path / "other", engines, build=True)
        other.lend_and_return(1)
        other.ledger()
        with pytest.raises(errors.KeyFileDiffers, match="secret_key"):
            _restore(empty_db_url, other.data_dir, archive, engines, force=False)
        _restore(empty_db_url, other.data_dir, archive, engines, force=True)
        manifest = _manifest(archive)
        assert _counts(other.factory, manifest) == {t.name: t.rows for t in manifest.tables}
        with tarfile.open(archive) as tar:
            secret = tar.extractfile("files/secret_key")
            assert secret is not None and other.secret == secret.read().decode().strip()
        _verify(other)

    def test_differing_key_files_are_refused_before_the_database_is_touched(
        self, archive: Path, empty_db_url: str, tmp_path: Path, engines: Callable[[str], Engine]
    ) -> None:
        target = tmp_path / "restored"
        (target / "ledger").mkdir(parents=True)
        (target / "ledger" / "ledger.key").write_bytes(b"k" * 32)
        with pytest.raises(errors.KeyFileDiffers, match=r"ledger/ledger\.key"):
            _restore(empty_db_url, target, archive, engines)
        assert (target / "ledger" / "ledger.key").read_bytes() == b"k" * 32
        assert current_revision(engines(empty_db_url)) is None

    def test_an_archive_from_a_newer_schema_is_refused(
        self, archive: Path, empty_db_url: str, tmp_path: Path, engines: Callable[[str], Engine]
    ) -> None:
        newer = tmp_path / "newer.tar"
        _rewrite(archive, newer, lambda m: m.update(revision="9001"))
        with pytest.raises(errors.ArchiveFromNewerVersion, match="9001"):
            _restore(empty_db_url, tmp_path / "restored", newer, engines)
        self._untouched(empty_db_url, tmp_path / "restored", engines)

    def test_an_interrupted_restore_leaves_an_empty_database_and_can_run_again(
        self, archive: Path, empty_db_url: str, tmp_path: Path, engines: Callable[[str], Engine]
    ) -> None:
        def interrupt(table: str, done: int, total: int) -> None:
            if table == "loans":
                raise KeyboardInterrupt

        target = tmp_path / "restored"
        with pytest.raises(KeyboardInterrupt):
            _restore(empty_db_url, target, archive, engines, progress=interrupt)
        with engines(empty_db_url).connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM events")) == 0
            assert conn.scalar(text("SELECT count(*) FROM ledger_leaves")) == 0
        assert not target.exists()
        _restore(empty_db_url, target, archive, engines)
        _verify(_open(empty_db_url, target, engines, build=False))


def test_an_older_archive_is_restored_then_migrated(
    library: Library, tmp_path: Path, engines: Callable[[str], Engine], empty_db_url: str
) -> None:
    """An archive at revision 0004 (before the witnessing tables) goes into a database that is
    moved down to 0004 when it is empty, then migrated to the newest revision."""
    archive, older = tmp_path / "b.tar", tmp_path / "0004.tar"
    _backup(library, archive)
    newer_tables = {
        "ledger_audits",
        "ledger_peers",
        "ledger_witnesses",
        "ledger_cosignatures",
        "ledger_split_views",
    }

    newer_tables.add("notice_preferences")  # 790438ed6054: the outbox moved to notify

    def to_0004(m: dict[str, Any]) -> None:
        m["revision"] = "0004"
        m["tables"] = [t for t in m["tables"] if t["name"] not in newer_tables]

    def without(column: str) -> Reshape:
        def reshape(rows: list[list[Any]], columns: list[list[str]]) -> Any:
            at = [c for c, _k in columns].index(column)
            return [r[:at] + r[at + 1 :] for r in rows], columns[:at] + columns[at + 1 :]

        return reshape

    def with_channels(rows: list[list[Any]], columns: list[list[str]]) -> Any:
        # Before 790438ed6054 a reader's notice channels were circulation preferences.
        return [[*r, False, True] for r in rows], [
            *columns,
            ["notify_webhook", "bool"],
            ["notify_email", "bool"],
        ]

    _rewrite(
        archive,
        older,
        to_0004,
        drop={f"tables/{t}.jsonl.gz" for t in newer_tables},
        reshape={
            "notices": without("error_kind"),
            "reader_preferences": with_channels,
            "role_permissions": lambda rows, columns: (
                [r for r in rows if "notify.outbox.read" not in r],
                columns,
            ),
            # Before e8b9bbb32ff0 a failed login had one key (the account's or the address's).
            "login_failures": lambda rows, columns: (
                [],
                [["id", "int"], ["key", "str"], ["failed_at", "datetime"]],
            ),
        },
    )
    upgrade(engines(empty_db_url))  # an empty database at the newest revision
    report = _restore(empty_db_url, tmp_path / "restored", older, engines)
    assert report.upgraded_to is not None
    assert current_revision(engines(empty_db_url)) == report.upgraded_to
    _verify(_open(empty_db_url, tmp_path / "restored", engines, build=False))


# --- the command line ----------------------------------------------------------------------


def test_cli_backs_up_restores_and_the_ledger_verifies(
    library: Library,
    scratch_db_url: str,
    empty_db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runner = CliRunner()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHULIAN_SECRET_KEY", raising=False)
    monkeypatch.setenv("SHULIAN_DATABASE_URL", scratch_db_url)
    monkeypatch.setenv("SHULIAN_DATA_DIR", str(library.data_dir))
    made = runner.invoke(cli, ["backup"])
    assert made.exit_code == 0, made.output
    assert "Backup written" in made.output
    (archive,) = (library.data_dir / "backups").iterdir()
    assert archive.name.startswith("shulian-") and archive.suffix == ".tar"

    monkeypatch.setenv("SHULIAN_DATABASE_URL", empty_db_url)
    monkeypatch.setenv("SHULIAN_DATA_DIR", str(tmp_path / "restored"))
    done = runner.invoke(cli, ["restore", str(archive), "--no-reindex"])
    assert done.exit_code == 0, done.output
    assert "shulian search reindex" in done.output
    verified = runner.invoke(cli, ["ledger", "verify"])
    assert verified.exit_code == 0, verified.output
    assert "Ledger verified" in verified.output

    again = runner.invoke(cli, ["restore", str(archive), "--no-reindex"])
    assert again.exit_code == 1
    assert "already holds data" in again.output and "Traceback" not in again.output

    data = bytearray(archive.read_bytes())
    with tarfile.open(archive) as tar:
        member = tar.getmember("tables/records.jsonl.gz")
    data[member.offset_data + 10] ^= 0x01
    archive.write_bytes(bytes(data))
    bad = runner.invoke(cli, ["restore", str(archive), "--force", "--no-reindex"])
    assert bad.exit_code == 1
    assert "tables/records.jsonl.gz" in bad.output and "Traceback" not in bad.output


# --- helpers -------------------------------------------------------------------------------


def _manifest(archive: Path) -> Manifest:
    with tarfile.open(archive) as tar:
        src = tar.extractfile("manifest.json")
        assert src is not None
        return Manifest.from_json(src.read())


Reshape = Callable[[list[list[Any]], list[list[str]]], tuple[list[list[Any]], list[list[str]]]]


def _rewrite(
    archive: Path,
    out: Path,
    change: Callable[[dict[str, Any]], None],
    drop: set[str] | frozenset[str] = frozenset(),
    reshape: dict[str, Reshape] | None = None,
) -> None:
    """A copy of ``archive`` with its manifest changed, some members left out, and the rows of
    some tables reshaped (``reshape[table](rows, columns) -> (rows, columns)``; the manifest's
    columns, sizes and digests follow)."""
    reshape = reshape or {}
    members: dict[str, bytes] = {}
    with tarfile.open(archive) as src:
        infos = [info for info in src if info.name not in drop]
        for info in infos:
            fh = src.extractfile(info)
            assert fh is not None
            members[info.name] = fh.read()
    manifest = json.loads(members["manifest.json"])
    for entry in manifest["tables"]:
        if entry["name"] in reshape:
            lines = gzip.decompress(members[entry["member"]]).decode().splitlines()
            rows, columns = reshape[entry["name"]](
                [json.loads(line) for line in lines], entry["columns"]
            )
            text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
            data = gzip.compress(text.encode(), mtime=0)
            members[entry["member"]] = data
            entry.update(
                columns=columns,
                rows=len(rows),
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
            )
    change(manifest)
    members["manifest.json"] = json.dumps(manifest).encode()
    with tarfile.open(out, "w") as dst:
        for info in infos:
            data = members[info.name]
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))
