"""`shulian user create`: staff accounts with roles, readers with a card number, and what is
wrong when one cannot be created."""

from __future__ import annotations

from sqlalchemy import select
from typer.testing import CliRunner

from shulian.accounts.models import StaffAccount
from shulian.cli import app as cli
from shulian.core.db import make_engine, make_sessionmaker, session_scope
from shulian.core.security import verify_password


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
