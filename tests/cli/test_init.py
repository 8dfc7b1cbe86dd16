"""The root app (`shulian.cli`): every command explains itself; `demo`."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from shulian.accounts.models import Reader
from shulian.catalog.models import Record
from shulian.circulation.models import Hold, Loan
from shulian.cli import app as cli
from shulian.consortium.models import Branch
from shulian.core.db import make_engine, make_sessionmaker, session_scope


def _count(url: str, model: type) -> int:
    engine = make_engine(url)
    try:
        with session_scope(make_sessionmaker(engine)) as s:
            return s.scalar(select(func.count()).select_from(model)) or 0
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["serve"],
        ["db", "upgrade"],
        ["db", "revision"],
        ["demo"],
        ["user", "create"],
        ["ledger", "witness"],
        ["ledger", "trust-witness"],
        ["ledger", "peers"],
    ],
)
def test_every_command_explains_itself(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output


def test_demo_loads_once(env: str) -> None:
    runner = CliRunner()
    first = runner.invoke(cli, ["demo"])
    assert first.exit_code == 0, first.output
    assert "7 branches, 6 staff, 12 readers, 2978 records, 13 loans added" in first.output
    again = runner.invoke(cli, ["demo"])
    assert "0 branches, 0 staff, 0 readers, 0 records, 0 loans added" in again.output
    assert _count(env, Branch) == 7 and _count(env, Reader) == 12
    assert _count(env, Record) == 2978
    assert _count(env, Loan) == 13 and _count(env, Hold) == 2
