"""`shulian catalog import` and `export`: the report after an import (rejections first), the
catalogue written to a file or to standard output, and unknown formats refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from shulian.catalog.marc import read_records
from shulian.cli import app as cli
from shulian.cli.catalog import print_report
from shulian.core.db import make_engine, make_sessionmaker, session_scope
from tests.catalog.test_importer import bib, mixed, write
from tests.factories.consortium import make_network


@pytest.fixture
def env(env: str) -> str:
    """The command line's environment (tests/cli/conftest.py), migrated, with the branches."""
    assert CliRunner().invoke(cli, ["db", "upgrade"]).exit_code == 0
    engine = make_engine(env)
    with session_scope(make_sessionmaker(engine)) as session:
        make_network(session)
    engine.dispose()
    return env


def test_import_reports_counts_then_rejections_before_warnings(env: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["catalog", "import", str(mixed(tmp_path / "a.mrc"))])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())  # the line wraps at the terminal's width
    assert "Import 1 of a.mrc (done): read 4, imported 3, merged 0 (items added 3)" in said
    assert "rejected 1" in said
    assert result.output.index("rejected ") < result.output.index("warning")
    assert "7-02-000220-1" in result.output


def test_the_report_says_how_many_notes_it_left_out(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    imported = CliRunner().invoke(cli, ["catalog", "import", str(mixed(tmp_path / "a.mrc"))])
    assert imported.exit_code == 0, imported.output
    engine = make_engine(env)
    print_report(make_sessionmaker(engine), 1, 1)
    engine.dispose()
    shown = capsys.readouterr().out
    assert "rejected" in shown and "warning" not in shown
    assert "… and 1 more (GET /api/v1/catalog/imports/1)" in shown


def test_import_refuses_an_unknown_format(env: str, tmp_path: Path) -> None:
    path = write(tmp_path / "a.mrc", [bib(1)])
    result = CliRunner().invoke(cli, ["catalog", "import", str(path), "--format", "nosuch"])
    assert result.exit_code == 2 and "Unknown format nosuch" in result.output


def test_export_writes_the_published_records_or_all_with_drafts(env: str, tmp_path: Path) -> None:
    runner = CliRunner()
    runner.invoke(cli, ["catalog", "import", str(write(tmp_path / "d.mrc", [bib(1)]))])
    published = write(tmp_path / "p.mrc", [bib(2), bib(3)])
    runner.invoke(cli, ["catalog", "import", str(published), "--publish"])
    out = tmp_path / "out.mrc"
    result = runner.invoke(cli, ["catalog", "export", str(out)])
    assert result.exit_code == 0 and f"Wrote {out}" in result.output
    with out.open("rb") as f:
        assert len(list(read_records(f, format="marc21"))) == 2
    every = runner.invoke(cli, ["catalog", "export", "--format", "csv", "--drafts"])
    assert every.exit_code == 0
    assert all(f"图书馆学概论 第{n}卷" in every.stdout for n in (1, 2, 3))


def test_export_refuses_an_unknown_format(env: str) -> None:
    result = CliRunner().invoke(cli, ["catalog", "export", "--format", "nosuch"])
    assert result.exit_code == 2 and "Unknown format nosuch" in result.output


def test_the_report_prints_record_text_as_it_is_not_as_console_markup(
    env: str, tmp_path: Path
) -> None:
    # Rich reads "[...]" as styles: a record's own text must come out as typed, and a stray
    # closing tag must not stop the command.
    odd = bib(1, isbns=["[/bold]978-7"], source_ids={"001": "[bold red]rec1[/bold red]"})
    path = write(tmp_path / "[red]odd.mrc", [odd])
    result = CliRunner().invoke(cli, ["catalog", "import", str(path)])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "[bold red]rec1[/bold red]" in said
    assert "[/bold]978-7" in said
    assert "of [red]odd.mrc" in said
