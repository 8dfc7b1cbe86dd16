"""``shulian catalog``: import and export catalogue files from the command line."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shulian.catalog import importer
from shulian.catalog.marc import FORMATS
from shulian.catalog.models import ImportJob, ImportNote
from shulian.catalog.types import RecordStatus
from shulian.core.clock import utcnow

console = Console()
err = Console(stderr=True)


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
    if format is not None and format not in FORMATS:
        err.print(f"[red]Unknown format {format}; use one of {', '.join(FORMATS)}[/]")
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
    with factory() as session:
        job = session.get_one(ImportJob, job_id)
        state = "done" if job.finished_at else "interrupted: run again to resume"
        console.print(
            f"Import {job.id} of {job.file_name} ({state}): read {job.position}, "
            f"imported [green]{job.imported}[/], merged [cyan]{job.merged}[/] "
            f"(items added {job.items_added}), rejected [red]{job.rejected}[/]"
        )
        notes = session.scalars(
            select(ImportNote)
            .where(ImportNote.job_id == job_id)
            .order_by(ImportNote.rejected.desc(), ImportNote.number)
            .limit(show)
        ).all()
        if notes:
            table = Table("record", "source id", "", "reason", show_lines=False)
            for n in notes:
                table.add_row(
                    str(n.number),
                    n.source_id or "",
                    "[red]rejected[/]" if n.rejected else "[yellow]warning[/]",
                    n.reason,
                )
            console.print(table)
            total = session.scalar(
                select(func.count(ImportNote.id)).where(ImportNote.job_id == job_id)
            )
            if total and total > len(notes):
                console.print(
                    f"… and {total - len(notes)} more (GET /api/v1/catalog/imports/{job_id})"
                )


def run_export(session: Session, out: Path | None, *, format: str, drafts: bool) -> None:
    statuses = tuple(RecordStatus) if drafts else (RecordStatus.PUBLISHED,)
    if out is None:
        importer.export_file(session, sys.stdout.buffer, format=format, statuses=statuses)
        return
    with out.open("wb") as f:
        importer.export_file(session, f, format=format, statuses=statuses)
    err.print(f"Wrote {out}")
