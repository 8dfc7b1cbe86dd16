"""``shulian backup`` and ``shulian restore``: the whole library to one archive and back. Both
are commands of the root app, which registers them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from shulian.cli.common import (
    TableBars,
    console,
    err,
    exits_on_failure,
    get_settings,
    rows_progress,
)
from shulian.cli.search import search_reindex
from shulian.core.clock import utcnow
from shulian.core.db import make_engine
from shulian.core.errors import ShulianError


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


def backup(
    path: Annotated[
        Path | None,
        typer.Argument(help="Archive to write; default data_dir/backups/shulian-<UTC time>.tar."),
    ] = None,
) -> None:
    """Write a consistent snapshot of the library (every table, the secret, the ledger keys and
    the digital resources' files) to one archive, owner-only, while the platform runs. The search
    index is not in it: it is rebuilt from the database."""

    from shulian.backup.dump import create_backup

    settings = get_settings()
    url = settings.effective_database_url
    now = utcnow()
    if path is None:
        folder = settings.data_dir / "backups"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = folder / f"shulian-{now:%Y%m%dT%H%M%SZ}.tar"
    if not path.parent.is_dir():
        err.print(
            f"[bold red]Backup failed:[/] the folder {escape(str(path.parent))} does not exist."
        )
        raise typer.Exit(1)
    if path.exists():
        err.print(f"[bold red]Backup failed:[/] {escape(str(path))} exists; give another name.")
        raise typer.Exit(1)
    database = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else None
    if database is not None and not Path(database).is_file():
        err.print(f"[bold red]Backup failed:[/] there is no database at {escape(database)}.")
        raise typer.Exit(1)
    engine = make_engine(url)
    try:
        with exits_on_failure("Backup failed", "no archive written."), rows_progress() as bar:
            manifest = create_backup(
                engine,
                data_dir=settings.data_dir,
                path=path,
                now=now,
                progress=TableBars(bar, "Saving"),
            )
    finally:
        engine.dispose()
    console.print(
        f"Backup written to [bold]{escape(str(path))}[/] ({_size(path.stat().st_size)}): "
        f"{len(manifest.tables)} tables, {manifest.rows} rows, schema revision "
        f"{manifest.revision}, ledger of {manifest.ledger_leaves} leaves (last checkpoint at "
        f"{manifest.ledger_checkpoint}); files: "
        + escape(", ".join(f.path for f in manifest.files[:6]))
        + (f" and {len(manifest.files) - 6} more" if len(manifest.files) > 6 else "")
        + "."
    )
    if settings.secret_key is not None:
        err.print(
            "[yellow]The secret comes from SHULIAN_SECRET_KEY and is not in the archive: keep it "
            "with the archive, or `ledger verify` fails after a restore.[/]"
        )
    err.print("The archive holds keys and readers' data: keep it as safe as the server.")


def restore(
    path: Annotated[Path, typer.Argument(help="Archive written by `shulian backup`.")],
    force: Annotated[
        bool,
        typer.Option(help="Replace whatever the database and the data directory's key files hold."),
    ] = False,
    reindex: Annotated[
        bool, typer.Option(help="Rebuild the search index from the restored catalogue.")
    ] = True,
) -> None:
    """Restore an archive into an empty database (SQLite or PostgreSQL, whichever made it) and
    the data directory. The archive is checked whole first; the database is loaded in one
    transaction, so a refusal, an error or Ctrl-C leaves it as it was."""

    from shulian.backup.restore import restore_backup

    settings = get_settings()
    if not path.is_file():
        err.print(f"[bold red]Restore refused:[/] {escape(str(path))} is not a file.")
        raise typer.Exit(1)
    engine = make_engine(settings.effective_database_url)
    try:
        with (
            exits_on_failure("Restore refused", "the database is as it was."),
            rows_progress() as bar,
        ):
            check_task = bar.add_task("Checking the archive", total=path.stat().st_size)
            report = restore_backup(
                engine,
                data_dir=settings.data_dir,
                path=path,
                force=force,
                progress=TableBars(bar, "Loading"),
                checking=lambda n: bar.advance(check_task, n),
            )
    finally:
        engine.dispose()
    m = report.manifest
    console.print(
        f"Restored {m.rows} rows in {len(m.tables)} tables from {m.dialect} at schema revision "
        f"{m.revision} (made {m.created_at}); ledger of {m.ledger_leaves} leaves."
    )
    if report.upgraded_to:
        console.print(f"Database migrated to revision {report.upgraded_to}.")
    if report.files_written:
        console.print(f"Files written: {escape(', '.join(report.files_written[:8]))}.")
    if settings.secret_key is not None and m.secret_in_archive:
        err.print(
            "[yellow]SHULIAN_SECRET_KEY is set and overrides the restored secret_key file.[/]"
        )
    elif not m.secret_in_archive:
        err.print(
            "[yellow]The archive has no secret_key: set SHULIAN_SECRET_KEY to the library's "
            "secret, or `ledger verify` fails.[/]"
        )
    if reindex:
        try:
            search_reindex()
        except ShulianError as exc:
            err.print(
                f"[yellow]Search index not rebuilt ({escape(exc.detail)}): run `shulian search "
                "reindex` once the server is stopped.[/]"
            )
    else:
        console.print("Now run `shulian search reindex` to rebuild the search index.")
    console.print("Check the ledger with `shulian ledger verify`.")
