"""`shulian search reindex`."""

from __future__ import annotations

from typer.testing import CliRunner

from shulian.cli import app as cli


def test_search_reindex_takes_its_memory_in_mb(env: str) -> None:
    runner = CliRunner()
    done = runner.invoke(cli, ["search", "reindex", "--memory-mb", "64"])
    assert done.exit_code == 0, done.output
    assert "Indexed 0 published records." in done.output
    too_little = runner.invoke(cli, ["search", "reindex", "--memory-mb", "1"])
    assert too_little.exit_code == 2
    assert "--memory-mb" in too_little.output
