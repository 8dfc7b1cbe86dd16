"""``shulian search reindex``: rebuild this node's search index from the catalogue."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy.orm import Session, sessionmaker

from shulian.search.service import SearchService

console = Console(stderr=True)


def reindex(
    service: SearchService, factory: sessionmaker[Session], *, memory: int | None = None
) -> int:
    with Progress(
        TextColumn("[bold]indexing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("index", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return service.reindex(factory, on_progress=progress, memory=memory)
