"""Secret files created once, whoever gets there first."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

from shulian.core.security import create_secret_file


class TestCreateSecretFile:
    def test_processes_starting_at_once_all_read_the_one_that_was_written(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "var" / "secret_key"
        start = threading.Barrier(8)
        got: list[bytes] = []

        def one(n: int) -> None:
            start.wait()
            got.append(create_secret_file(path, lambda: f"key-{n}".encode() * 100))

        threads = [threading.Thread(target=one, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(set(got)) == 1
        assert path.read_bytes() == got[0]
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert [p.name for p in path.parent.iterdir()] == ["secret_key"]  # no leftovers

    def test_an_existing_file_is_read_not_replaced(self, tmp_path: Path) -> None:
        path = tmp_path / "k"
        path.write_bytes(b"old")
        assert create_secret_file(path, lambda: b"new") == b"old"
