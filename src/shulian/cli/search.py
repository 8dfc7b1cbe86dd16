"""``shulian search``: rebuild this node's search index from the catalogue."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from shulian.cli.common import console, err, get_settings, migrated_database
from shulian.core.db import make_sessionmaker

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from shulian.search.service import SearchService

app = typer.Typer(help="The search index.", no_args_is_help=True)


@app.command("reindex")
def search_reindex(
    memory_mb: Annotated[
        int,
        typer.Option(
            min=16,
            help="Indexing memory in MB. With room for the whole catalogue (about 1,000 MB a "
            "million records) the index is written in one piece, which searches fastest.",
        ),
    ] = 256,
) -> None:
    """Rebuild the search index from the published catalogue (stop `serve` first: it writes
    the index)."""
    from shulian.search.service import SearchService

    settings = get_settings()
    with migrated_database(settings) as engine:
        n = reindex(
            SearchService(settings.data_dir / "search"),
            make_sessionmaker(engine, readonly=True),
            memory=memory_mb * 1_000_000,
        )
    console.print(f"Indexed {n} published records.")


def reindex(
    service: SearchService, factory: sessionmaker[Session], *, memory: int | None = None
) -> int:
    """Rebuild ``service``'s index with a progress bar on standard error; returns the number of
    records indexed."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("[bold]indexing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
    ) as bar:
        task = bar.add_task("index", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return service.reindex(factory, on_progress=progress, memory=memory)
