"""``shulian consortium``: the network from the command line."""

from __future__ import annotations

from datetime import date

from typer.testing import CliRunner

from shulian.cli import app as cli
from shulian.consortium import service as consortium_service
from shulian.core.db import make_engine, make_sessionmaker, session_scope
from tests.factories.consortium import make_network


def test_add_a_branch_close_it_and_see_the_tree(env: str) -> None:
    engine = make_engine(env)
    with session_scope(make_sessionmaker(engine)) as s:
        make_network(s)
    runner = CliRunner()
    added = runner.invoke(
        cli,
        [
            "consortium",
            "add-branch",
            "s24",
            "--name-zh",
            "湖东24小时图书馆",
            "--name-en",
            "Hudong 24-hour library",
            "--kind",
            "self_service",
            "--parent",
            "CEN",
        ],
    )
    assert added.exit_code == 0, added.output
    assert "Branch S24 (湖东24小时图书馆) added." in added.output
    closed = runner.invoke(cli, ["consortium", "close", "S24", "2027-02-10", "--reason", "春节"])
    assert closed.exit_code == 0 and "S24 is closed on 2027-02-10." in closed.output
    with session_scope(make_sessionmaker(engine)) as s:
        branch = consortium_service.get_branch_by_code(s, "S24")
        assert branch.parent_id == consortium_service.get_branch_by_code(s, "CEN").id
        assert not consortium_service.is_open_on(s, code="S24", day=date(2027, 2, 10))
    engine.dispose()
    tree = runner.invoke(cli, ["consortium", "branches"])
    assert tree.exit_code == 0
    assert "S24 湖东24小时图书馆 / Hudong 24-hour library (self_service" in tree.output


def test_refusals_say_why_and_exit_1(env: str) -> None:
    engine = make_engine(env)
    with session_scope(make_sessionmaker(engine)) as s:
        make_network(s)
    engine.dispose()
    runner = CliRunner()
    taken = runner.invoke(
        cli, ["consortium", "add-branch", "CEN", "--name-zh", "重复", "--name-en", "Again"]
    )
    assert taken.exit_code == 1 and "Branch code CEN is already in use" in taken.output
    bad_kind = runner.invoke(
        cli,
        ["consortium", "add-branch", "X1", "--name-zh", "某", "--name-en", "X", "--kind", "castle"],
    )
    assert bad_kind.exit_code == 1 and "kind" in bad_kind.output
    nowhere = runner.invoke(cli, ["consortium", "close", "NOPE", "2027-01-01"])
    assert nowhere.exit_code == 1 and "NOPE" in nowhere.output
    not_a_day = runner.invoke(cli, ["consortium", "close", "CEN", "tomorrow"])
    assert not_a_day.exit_code == 1 and "'tomorrow' is not a date" in not_a_day.output


def test_names_and_refusals_print_as_typed_not_as_console_markup(env: str) -> None:
    engine = make_engine(env)
    with session_scope(make_sessionmaker(engine)) as s:
        make_network(s)
    engine.dispose()
    runner = CliRunner()
    args = ["consortium", "add-branch", "B09", "--name-zh", "[bold]东湖[/bold]"]
    added = runner.invoke(cli, [*args, "--name-en", "[/i] East Lake", "--parent", "CEN"])
    assert added.exit_code == 0, added.output
    tree = runner.invoke(cli, ["consortium", "branches"])
    assert tree.exit_code == 0, tree.output
    assert "B09 [bold]东湖[/bold] / [/i] East Lake (branch" in tree.output
    orphan = ["consortium", "add-branch", "B10", "--name-zh", "孤", "--name-en", "Orphan"]
    refused = runner.invoke(cli, [*orphan, "--parent", "[/nope]"])
    assert refused.exit_code == 1, refused.output
    assert "[/nope]" in refused.output
