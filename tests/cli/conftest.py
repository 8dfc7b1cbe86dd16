"""The command line's tests run it as an operator does: in a scratch folder, with the database
and the data directory given by the environment."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, scratch_db_url: str, tmp_path: Path) -> str:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SHULIAN_DATABASE_URL", scratch_db_url)
    monkeypatch.setenv("SHULIAN_DATA_DIR", str(tmp_path / "var"))
    return scratch_db_url
