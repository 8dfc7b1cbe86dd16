"""``shulian catalog``: import and export catalogue files."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from shulian.cli.common import console, err, get_settings, migrated_database
from shulian.core.clock import utcnow
from shulian.core.db import make_sessionmaker

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

app = typer.Typer(help="Catalogue files: import and export.", no_args_is_help=True)


@app.command("import")
def catalog_import(
    file: Annotated[Path, typer.Argument(help="MARC21 (.mrc, .gz), MARCXML, UNIMARC or CSV.")],
    format: Annotated[
        str | None, typer.Option(help="marc21, marcxml, unimarc or csv; guessed when omitted.")
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="Override the file's character set (e.g. gb18030).")
    ] = None,
    publish: Annotated[
        bool, typer.Option(help="Publish at once (a migration from another system).")
    ] = False,
    branch: Annotated[
        str | None, typer.Option(help="Home branch code for items that name none.")
    ] = None,
) -> None:
    """Import a catalogue file as drafts for review (or published). Bad records are reported
    and skipped; Ctrl-C stops cleanly and the same command resumes."""
    with migrated_database(get_settings()) as engine:
        run_import(
            make_sessionmaker(engine),
            file,
            format=format,
            encoding=encoding,
            publish=publish,
            branch=branch,
        )


@app.command("export")
def catalog_export(
    out: Annotated[
        Path | None, typer.Argument(help="File to write; standard output if omitted.")
    ] = None,
    format: Annotated[str, typer.Option(help="marc21, marcxml, unimarc or csv.")] = "marc21",
    drafts: Annotated[bool, typer.Option(help="Include records not yet published.")] = False,
) -> None:
    """Export the catalogue with its items."""
    from shulian.catalog.marc import FORMATS

    if format not in FORMATS:
        err.print(f"[red]Unknown format {escape(format)}; use one of {', '.join(FORMATS)}[/]")
        raise typer.Exit(2)
    with migrated_database(get_settings()) as engine, make_sessionmaker(engine)() as session:
        run_export(session, out, format=format, drafts=drafts)


def run_import(
    factory: sessionmaker[Session],
    path: Path,
    *,
    format: str | None,
    encoding: str | None,
    publish: bool,
    branch: str | None,
    show_rejections: int = 20,
) -> int:
    """Import with a progress bar; Ctrl-C stops after the batch in hand (run again to resume).
    Returns the job id."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    from shulian.catalog import importer
    from shulian.catalog.marc import FORMATS

    if format is not None and format not in FORMATS:
        err.print(f"[red]Unknown format {escape(format)}; use one of {', '.join(FORMATS)}[/]")
        raise typer.Exit(2)
    stop = threading.Event()

    def interrupted(_sig: int, _frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        err.print("[yellow]Stopping after this batch; run the same command again to resume.[/]")

    previous = signal.signal(signal.SIGINT, interrupted)
    try:
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[counts]}"),
            TimeRemainingColumn(),
            console=err,
            transient=False,
        ) as bar:
            task = bar.add_task(path.name, total=path.stat().st_size, counts="")

            def progress(p: importer.Progress) -> None:
                bar.update(
                    task,
                    completed=p.bytes_done,
                    counts=f"#{p.records}  +{p.imported} ={p.merged} x{p.rejected}",
                )

            job_id = importer.import_file(
                factory,
                path,
                actor="system:cli",
                clock=utcnow,
                format=format,
                encoding=encoding,
                publish=publish,
                branch=branch,
                on_progress=progress,
                stop=stop,
            )
    finally:
        signal.signal(signal.SIGINT, previous)
    print_report(factory, job_id, show_rejections)
    return job_id


def print_report(factory: sessionmaker[Session], job_id: int, show: int) -> None:
    """The job's counts, then its first ``show`` notes, rejections first."""
    from shulian.catalog import importer

    with factory() as session:
        report = importer.report(session, job_id, limit=show, rejections_first=True)
        total = importer.note_count(session, job_id)
    job, notes = report.job, report.notes
    state = "done" if job.finished_at else "interrupted: run again to resume"
    console.print(
        f"Import {job.id} of {escape(job.file_name)} ({state}): read {job.position}, "
        f"imported [green]{job.imported}[/], merged [cyan]{job.merged}[/] "
        f"(items added {job.items_added}), rejected [red]{job.rejected}[/]"
    )
    if notes:
        table = Table("record", "source id", "", "reason", show_lines=False)
        for n in notes:
            table.add_row(
                str(n.number),
                escape(n.source_id or ""),
                "[red]rejected[/]" if n.rejected else "[yellow]warning[/]",
                escape(n.reason),
            )
        console.print(table)
        if total > len(notes):
            console.print(f"… and {total - len(notes)} more (GET /api/v1/catalog/imports/{job_id})")


def run_export(session: Session, out: Path | None, *, format: str, drafts: bool) -> None:
    """Write the catalogue (published records, or all with ``drafts``) to ``out`` or stdout."""
    from shulian.catalog import importer
    from shulian.catalog.schemas import RecordStatus

    statuses = tuple(RecordStatus) if drafts else (RecordStatus.PUBLISHED,)
    if out is None:
        importer.export_file(session, sys.stdout.buffer, format=format, statuses=statuses)
        return
    with out.open("wb") as f:
        importer.export_file(session, f, format=format, statuses=statuses)
    err.print(f"Wrote {escape(str(out))}")
