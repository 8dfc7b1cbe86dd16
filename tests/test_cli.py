from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from shulian.accounts.models import Reader, StaffAccount
from shulian.catalog.models import Record
from shulian.circulation.models import Hold, Loan
from shulian.cli import app as cli
from shulian.consortium.models import Branch
from shulian.core.db import make_engine, make_sessionmaker, session_scope
from shulian.core.security import verify_password


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, scratch_db_url: str, tmp_path: Path) -> str:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SHULIAN_DATABASE_URL", scratch_db_url)
    monkeypatch.setenv("SHULIAN_DATA_DIR", str(tmp_path / "var"))
    return scratch_db_url


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


def test_user_create_staff_and_reader(env: str) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["demo"]).exit_code == 0
    r = runner.invoke(
        cli,
        [
            "user",
            "create",
            "staff",
            "Zhou",
            "--name",
            "周馆员",
            "--role",
            "reviewer",
            "--role",
            "publisher",
            "--branch",
            "CEN",
        ],
        input="s3cret-pass\ns3cret-pass\n",
    )
    assert r.exit_code == 0, r.output
    assert "Staff account zhou created" in r.output
    engine = make_engine(env)
    with session_scope(make_sessionmaker(engine)) as s:
        staff = s.scalars(select(StaffAccount).where(StaffAccount.username == "zhou")).one()
        assert verify_password(staff.password_hash, "s3cret-pass")
    engine.dispose()
    r = runner.invoke(
        cli,
        [
            "user",
            "create",
            "reader",
            "C900",
            "--name",
            "读者",
            "--branch",
            "B01",
            "--password",
            "123456",
            "--category",
            "child",
        ],
    )
    assert r.exit_code == 0 and "Reader C900 registered" in r.output


def test_user_create_reports_what_is_wrong(env: str) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["demo"]).exit_code == 0
    r = runner.invoke(
        cli,
        [
            "user",
            "create",
            "staff",
            "x1",
            "--name",
            "n",
            "--password",
            "long-enough",
            "--role",
            "emperor",
        ],
    )
    assert r.exit_code == 1 and "Unknown role emperor" in r.output
    r = runner.invoke(
        cli,
        [
            "user",
            "create",
            "reader",
            "C901",
            "--name",
            "n",
            "--password",
            "123456",
            "--branch",
            "NOWHERE",
        ],
    )
    assert r.exit_code == 1 and "No branch with code NOWHERE" in r.output


def test_search_reindex_takes_its_memory_in_mb(env: str) -> None:
    runner = CliRunner()
    done = runner.invoke(cli, ["search", "reindex", "--memory-mb", "64"])
    assert done.exit_code == 0, done.output
    assert "Indexed 0 published records." in done.output
    too_little = runner.invoke(cli, ["search", "reindex", "--memory-mb", "1"])
    assert too_little.exit_code == 2
    assert "--memory-mb" in too_little.output
