"""``shulian user``: staff and reader accounts."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.markup import escape

from shulian.cli.common import console, get_settings, migrated_database, refusals
from shulian.core.clock import utcnow
from shulian.core.db import make_sessionmaker, session_scope

app = typer.Typer(help="Staff and reader accounts.", no_args_is_help=True)


@app.command("create")
def user_create(
    kind: Annotated[str, typer.Argument(help="'staff' or 'reader'.")],
    account: Annotated[str, typer.Argument(help="Username (staff) or card number (reader).")],
    name: Annotated[str, typer.Option(help="Display name (staff) or full name (reader).")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="Prompted for when not given.",
        ),
    ],
    role: Annotated[list[str] | None, typer.Option(help="Staff role; repeat for several.")] = None,
    branch: Annotated[
        str | None, typer.Option(help="Branch code (home branch of a reader).")
    ] = None,
    category: Annotated[str, typer.Option(help="Reader category.")] = "adult",
    expires: Annotated[str | None, typer.Option(help="Reader card expiry, YYYY-MM-DD.")] = None,
) -> None:
    """Create a staff account (with roles) or a reader (with a card number)."""

    from shulian.accounts import service as accounts_service
    from shulian.accounts.schemas import ReaderCreate, StaffCreate

    now = utcnow()
    with (
        refusals("Not created"),
        migrated_database(get_settings()) as engine,
        session_scope(make_sessionmaker(engine)) as session,
    ):
        if kind == "staff":
            staff = accounts_service.create_staff(
                session,
                data=StaffCreate(
                    username=account,
                    display_name=name,
                    password=password,
                    branch=branch,
                    roles=role or [],
                ),
                actor="system:cli",
                now=now,
            )
            console.print(
                f"Staff account [bold]{escape(staff.username)}[/] created (id {staff.id})."
            )
        elif kind == "reader":
            if branch is None:
                raise typer.BadParameter("a reader needs --branch (home branch code)")
            expiry = date.fromisoformat(expires) if expires else date(now.year + 3, now.month, 1)
            reader = accounts_service.register_reader(
                session,
                data=ReaderCreate(
                    card_number=account,
                    name=name,
                    category=category,
                    home_branch=branch,
                    expires_on=expiry,
                    password=password,
                ),
                actor="system:cli",
                now=now,
            )
            console.print(
                f"Reader [bold]{escape(reader.card_number)}[/] registered (id {reader.id})."
            )
        else:
            raise typer.BadParameter("KIND must be 'staff' or 'reader'")
