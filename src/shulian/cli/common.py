"""What every ``shulian`` command shares: the consoles, the settings (a configuration error exits
2), the migrated database, progress bars, and exiting cleanly on a failure or Ctrl-C."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from sqlalchemy import Engine

from shulian.core.config import Settings, load_settings
from shulian.core.db import make_engine
from shulian.core.errors import ConfigurationError, ShulianError

# Emoji codes off: a title with ":books:" in it prints as typed. Text from the data goes through
# ``escape`` wherever it is printed, so that "[bold red]" in a record prints as typed too.
console = Console(emoji=False)
err = Console(stderr=True, emoji=False)


def get_settings() -> Settings:
    """The settings from the environment; a configuration error is printed and exits 2."""
    try:
        return load_settings()
    except ConfigurationError as exc:
        err.print(f"[bold red]Configuration error:[/] {escape(exc.detail)}")
        raise typer.Exit(2) from None


@contextmanager
def migrated_database(settings: Settings) -> Iterator[Engine]:
    """The database, migrated to the newest schema; its connections closed afterwards."""
    from shulian.migrations import upgrade

    engine = make_engine(
        settings.effective_database_url,
        idle_in_transaction_timeout=settings.db_idle_in_transaction_timeout,
    )
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()


def rows_progress() -> Any:
    """A transient progress display on standard error, for counting rows."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )


class TableBars:
    """One bar per table (rows done of rows in the table) for backup and restore."""

    def __init__(self, bar: Any, verb: str) -> None:
        self.bar, self.verb = bar, verb
        self.tasks: dict[str, Any] = {}

    def __call__(self, table: str, done: int, total: int) -> None:
        if table not in self.tasks:
            self.tasks[table] = self.bar.add_task(f"{self.verb} {table}", total=total or 1)
        self.bar.update(self.tasks[table], completed=done if total else 1)


@contextmanager
def exits_on_failure(failed: str, interrupted: str) -> Iterator[None]:
    """Ctrl-C exits 130 saying ``interrupted``; a refusal, a database or file error exits 1
    with its first line after ``failed``."""
    from sqlalchemy.exc import OperationalError

    try:
        yield
    except KeyboardInterrupt:
        err.print(f"[yellow]Interrupted: {interrupted}[/]")
        raise typer.Exit(130) from None
    except (ShulianError, OperationalError, OSError) as exc:
        detail = exc.detail if isinstance(exc, ShulianError) else str(exc).splitlines()[0]
        err.print(f"[bold red]{failed}:[/] {escape(detail)}")
        raise typer.Exit(1) from None


def describe(exc: Exception) -> str:
    """Why something was refused, in one line: a domain error's message, or a validation error's
    problems field by field."""
    if isinstance(exc, ShulianError):
        return exc.detail
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" if e["loc"] else e["msg"]
            for e in exc.errors()
        )
    return str(exc)


@contextmanager
def refusals(what: str) -> Iterator[None]:
    """A domain error or bad input inside exits 1, printing ``what`` and why (``describe``)."""
    try:
        yield
    except (ShulianError, ValueError) as exc:  # ValidationError is a ValueError
        err.print(f"[bold red]{what}:[/] {escape(describe(exc))}")
        raise typer.Exit(1) from None
