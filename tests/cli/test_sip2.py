"""`shulian sip2 kiosk-add`, `kiosks` and `serve` as an operator runs them."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shulian.cli import app as cli
from shulian.core.db import make_engine, make_sessionmaker, session_scope
from tests.factories.consortium import make_network
from tests.servers import free_port, running, shulian_command, tcp_ready


@pytest.fixture
def env(env: str) -> str:
    """The command line's environment (tests/cli/conftest.py), with the branch network."""
    engine = make_engine(env)
    with session_scope(make_sessionmaker(engine)) as session:
        make_network(session)
    engine.dispose()
    return env


@pytest.mark.parametrize("command", [["sip2"], ["sip2", "serve"], ["sip2", "kiosk-add"]])
def test_sip2_commands_explain_themselves(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output


def test_kiosk_add_and_list(env: str) -> None:
    runner = CliRunner()
    made = runner.invoke(
        cli,
        ["sip2", "kiosk-add", "sc-b01", "--branch", "b01", "--encoding", "gbk"],
        input="kiosk-pass-1\nkiosk-pass-1\n",
    )
    assert made.exit_code == 0, made.output
    assert "sc-b01" in made.output and "gb18030" in made.output
    listed = runner.invoke(cli, ["sip2", "kiosks"])
    assert listed.exit_code == 0 and "sc-b01" in listed.output and "B01" in listed.output
    again = runner.invoke(
        cli, ["sip2", "kiosk-add", "sc-b01", "--branch", "B01", "--password", "kiosk-pass-1"]
    )
    assert again.exit_code == 1 and "already in use" in again.output


def test_kiosk_add_refuses_a_short_password_and_an_unknown_branch(env: str) -> None:
    runner = CliRunner()
    short = runner.invoke(cli, ["sip2", "kiosk-add", "k1", "--branch", "CEN", "--password", "x"])
    assert short.exit_code == 1 and "Not created" in short.output
    nowhere = runner.invoke(
        cli, ["sip2", "kiosk-add", "k1", "--branch", "NOPE", "--password", "long-enough-1"]
    )
    assert nowhere.exit_code == 1 and "NOPE" in nowhere.output


def test_serve_wants_both_halves_of_tls(env: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["sip2", "serve", "--tls-cert", str(tmp_path / "c.pem")])
    assert result.exit_code == 2 and "--tls-key" in result.output


def test_serve_answers_a_kiosk(env: str, tmp_path: Path) -> None:
    port = free_port()
    with (
        running(
            shulian_command("sip2", "serve", "--host", "127.0.0.1", "--port", str(port)),
            ready=lambda _: tcp_ready(port),
            log=tmp_path / "sip2.log",
            env=dict(os.environ),  # the database the env fixture set up
            timeout=30,
            what="shulian sip2 serve",
        ),
        socket.create_connection(("127.0.0.1", port), timeout=5) as sock,
    ):
        sock.sendall(b"9900802.00\r")
        answer = b""
        while not answer.endswith(b"\r"):
            answer += sock.recv(4096)
    assert answer.startswith(b"98YNNN")  # on line; nothing allowed before a login
