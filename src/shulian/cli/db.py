"""``shulian db``: database migrations."""

from __future__ import annotations

from typing import Annotated

import typer

from shulian.cli.common import console, get_settings, migrated_database

app = typer.Typer(help="Database migrations.", no_args_is_help=True)


@app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database to the newest schema."""
    from shulian.migrations import current_revision

    with migrated_database(get_settings()) as engine:
        rev = current_revision(engine)
    console.print(f"Database at revision [bold]{rev}[/]")


@app.command("revision")
def db_revision(
    message: Annotated[str, typer.Option("-m", "--message", help="What the revision changes.")],
) -> None:
    """For developers: write a new migration from the difference between the models and the
    (upgraded) database. Read and tidy the generated file before committing it."""
    from alembic import command

    from shulian.migrations import alembic_config

    with migrated_database(get_settings()) as engine:
        command.revision(alembic_config(engine), message=message, autogenerate=True)
