"""``shulian circulation``: the periodic jobs and the notice outbox, run once by hand."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

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
        table.add_row(run.name, shown)
    console.print(table)
    if any(run.error for run in runs):
        raise typer.Exit(1)


@app.command("notices")
def circulation_notices() -> None:
    """Deliver the notices that are due, once (serve does this every few seconds)."""
    from shulian.circulation.delivery import deliver_notices
    from shulian.circulation.transports import transports_from_settings
    from shulian.core import i18n

    settings = get_settings()
    i18n.load_catalogs(Path(__file__).parents[1] / "web" / "i18n")
    with migrated_database(settings) as engine:
        report = deliver_notices(
            make_sessionmaker(engine),
            now=utcnow(),
            transports=transports_from_settings(settings),
            language=settings.default_language,
        )
    console.print(f"Notices: {report}.")
