"""``shulian consortium``: the library network from the command line: the branch tree, adding a
branch, closing a branch for a day. The reference for a domain's commands: a Typer app, thin
commands that parse, call one function of the domain's service in a ``session_scope`` and print;
a domain error or bad input exits 1 with its message (``common.refusals``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.markup import escape
from rich.tree import Tree

from shulian.cli.common import console, err, get_settings, migrated_database, refusals
from shulian.core.clock import utcnow
from shulian.core.db import make_sessionmaker, session_scope

app = typer.Typer(help="The library network: branches and their calendars.", no_args_is_help=True)
ACTOR = "system:cli"


@app.command("branches")
def consortium_branches() -> None:
    """The network as a tree: each branch's code, names, kind and whether it is open today."""
    from shulian.consortium import service as consortium_service
    from shulian.consortium.schemas import BranchNode

    today = utcnow().date()
    with (
        migrated_database(get_settings()) as engine,
        session_scope(make_sessionmaker(engine, readonly=True)) as session,
    ):
        tree = Tree("[bold]Library network[/]")

        def add(parent: Tree, node: BranchNode) -> None:
            b = node.branch
            is_open = consortium_service.is_open_on(session, code=b.code, day=today)
            state = "open today" if is_open else "closed today"
            names = escape(f"{b.name_zh} / {b.name_en}")
            label = f"[bold]{escape(b.code)}[/] {names} ({b.kind.value}, {state})"
            branch = parent.add(label)
            for child in node.children:
                add(branch, child)

        for root in consortium_service.branch_tree(session):
            add(tree, root)
    console.print(tree)


@app.command("add-branch")
def consortium_add_branch(
    code: Annotated[str, typer.Argument(help="Short unique code, e.g. B04.")],
    name_zh: Annotated[str, typer.Option(help="Chinese name.")],
    name_en: Annotated[str, typer.Option(help="English name.")],
    kind: Annotated[
        str, typer.Option(help="central, branch, self_service or delivery_point.")
    ] = "branch",
    parent: Annotated[str | None, typer.Option(help="Code of the branch it belongs to.")] = None,
    address: Annotated[str, typer.Option(help="Street address.")] = "",
    phone: Annotated[str, typer.Option(help="Telephone.")] = "",
) -> None:
    """Add a branch (a 24-hour library, a delivery point...) to the network."""
    from shulian.consortium import service as consortium_service
    from shulian.consortium.schemas import BranchCreate

    with refusals("Not added"):
        data = BranchCreate(
            code=code,
            name_zh=name_zh,
            name_en=name_en,
            kind=kind,  # validated into a BranchKind
            parent_code=parent,
            address=address,
            phone=phone,
        )
        with (
            migrated_database(get_settings()) as engine,
            session_scope(make_sessionmaker(engine)) as session,
        ):
            branch = consortium_service.create_branch(session, data=data, actor=ACTOR, now=utcnow())
            shown = f"{branch.code} ({branch.name_zh})"
    console.print(f"Branch [bold]{escape(shown)}[/] added.")


@app.command("close")
def consortium_close(
    code: Annotated[str, typer.Argument(help="The branch's code.")],
    day: Annotated[str, typer.Argument(help="The day, YYYY-MM-DD.")],
    reason: Annotated[str, typer.Option(help="Shown to readers, e.g. 春节闭馆.")] = "",
) -> None:
    """Close a branch for a day (due dates skip it); closing it again changes the reason."""
    from shulian.consortium import service as consortium_service
    from shulian.consortium.schemas import ClosedDayCreate

    try:
        data = ClosedDayCreate(day=date.fromisoformat(day), reason=reason)
    except ValueError:
        err.print(f"[bold red]Not closed:[/] {day!r} is not a date (YYYY-MM-DD).")
        raise typer.Exit(1) from None
    with (
        refusals("Not closed"),
        migrated_database(get_settings()) as engine,
        session_scope(make_sessionmaker(engine)) as session,
    ):
        consortium_service.add_closed_day(session, code=code, data=data, actor=ACTOR, now=utcnow())
    console.print(f"{escape(code.upper())} is closed on {data.day.isoformat()}.")
