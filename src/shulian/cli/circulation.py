"""``shulian circulation``: the periodic jobs, and delivering the notices they queue (the same as
``shulian notify deliver``), run once by hand."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from shulian.cli import notify
from shulian.cli.common import console, get_settings, migrated_database
from shulian.core.clock import utcnow
from shulian.core.db import make_sessionmaker

app = typer.Typer(
    help="Circulation: the periodic jobs and the notice outbox.", no_args_is_help=True
)


@app.command("daily")
def circulation_daily() -> None:
    """Run the periodic jobs once (serve runs them hourly): expire holds left on the shelf,
    accrue fines, queue due-soon and overdue notices, anonymise old loans."""
    from shulian.circulation import worker

    with migrated_database(get_settings()) as engine:
        runs = worker.run_jobs(make_sessionmaker(engine), now=utcnow())
    table = Table("job", "count")
    for run in runs:
        if run.error:
            shown = f"failed: {run.error}"
        else:
            shown = "skipped: running elsewhere" if run.count is None else str(run.count)
        table.add_row(run.name, escape(shown))
    console.print(table)
    if any(run.error for run in runs):
        raise typer.Exit(1)


@app.command("notices")
def circulation_notices() -> None:
    """Deliver the notices that are due, once (serve does this every few seconds)."""
    notify.deliver_due()
