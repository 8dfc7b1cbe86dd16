"""``shulian ledger``: checkpoints, proofs, the audit (``ledger verify``), and witnessing other
libraries (the commands' reports are in ``witnessing``)."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from shulian.cli.common import console, err, get_settings, migrated_database
from shulian.core.clock import utcnow
from shulian.core.config import Settings
from shulian.core.db import make_sessionmaker, session_scope
from shulian.core.errors import ShulianError

app = typer.Typer(help="The verifiable ledger: checkpoints, proofs, audit.", no_args_is_help=True)


def _ledger_signer(settings: Settings) -> Any:
    from shulian.ledger.note import load_or_create_signer

    return load_or_create_signer(settings.data_dir / "ledger", settings.ledger_origin)


@app.command("checkpoint")
def ledger_checkpoint() -> None:
    """Append every new event to the ledger and print a freshly signed checkpoint."""
    from shulian.ledger import service as ledger_service

    settings = get_settings()
    with migrated_database(settings) as engine:
        factory = make_sessionmaker(engine)
        added = ledger_service.catch_up(factory, secret=settings.secret(), now=utcnow())
        with session_scope(factory) as session:
            cp = ledger_service.issue_checkpoint(
                session, signer=_ledger_signer(settings), now=utcnow()
            )
            note = cp.note
    err.print(f"{added} events appended.")
    sys.stdout.write(note)  # raw: a wrapped signature line would no longer verify


@app.command("key")
def ledger_key() -> None:
    """Print this library's checkpoint verifier key, for other libraries and auditors."""
    sys.stdout.write(_ledger_signer(get_settings()).verifier.vkey + "\n")


@app.command("proof")
def ledger_proof(
    index: Annotated[int, typer.Argument(help="Leaf index (0-based).")],
    size: Annotated[
        int | None, typer.Option(help="Tree size; default the latest checkpoint.")
    ] = None,
) -> None:
    """Print the inclusion proof of a leaf, as JSON."""
    from shulian.ledger import service as ledger_service

    try:
        with (
            migrated_database(get_settings()) as engine,
            session_scope(make_sessionmaker(engine)) as s,
        ):
            proof = ledger_service.inclusion_proof(s, index=index, size=size)
    except ShulianError as exc:
        err.print(f"[bold red]No proof:[/] {escape(exc.detail)}")
        raise typer.Exit(1) from None
    console.print_json(proof.model_dump_json())


def _ledger_cosigner(settings: Settings) -> Any:
    from shulian.ledger.cosign import load_or_create_cosigner

    return load_or_create_cosigner(settings.data_dir / "ledger", settings.effective_witness_name)


@app.command("witness")
def ledger_witness(
    url: Annotated[
        str, typer.Argument(help="The other library's address, e.g. https://lib.example.org")
    ],
    key: Annotated[
        str | None,
        typer.Option(
            help="Its checkpoint key (`shulian ledger key` there). Default: the key stored from "
            "an earlier run, or, the first time, the key it publishes (trust on first use)."
        ),
    ] = None,
) -> None:
    """Fetch another library's checkpoint, check it extends the last one seen from it (a
    consistency proof), cosign it and send the cosignature back. Exits 1 when refused (wrong or
    changed key, bad signature, rollback, unreachable) and 3 on a split view (kept as evidence)."""
    from shulian.cli.ledger.witnessing import run_witness

    settings = get_settings()
    with migrated_database(settings) as engine:
        run_witness(
            make_sessionmaker(engine),
            url,
            key=key,
            cosigner=_ledger_cosigner(settings),
            now=utcnow(),
        )


@app.command("witness-key")
def ledger_witness_key() -> None:
    """Print this library's witness key, for the libraries it witnesses (`ledger trust-witness`
    there)."""
    sys.stdout.write(_ledger_cosigner(get_settings()).key.vkey + "\n")


@app.command("trust-witness")
def ledger_trust_witness(
    vkey: Annotated[
        str, typer.Argument(help="The witness's key (`shulian ledger witness-key` there).")
    ],
) -> None:
    """Accept this witness's cosignatures on our checkpoints."""
    from shulian.cli.ledger.witnessing import trust

    with migrated_database(get_settings()) as engine:
        trust(make_sessionmaker(engine), vkey, now=utcnow())


@app.command("untrust-witness")
def ledger_untrust_witness(
    name: Annotated[str, typer.Argument(help="The witness's name, as `ledger witnesses` shows.")],
) -> None:
    """Stop accepting this witness's cosignatures (those already held are kept)."""
    from shulian.cli.ledger.witnessing import untrust

    with migrated_database(get_settings()) as engine:
        untrust(make_sessionmaker(engine), name)


@app.command("witnesses")
def ledger_witnesses() -> None:
    """The witnesses we trust and the cosignatures they gave our checkpoints."""
    from shulian.cli.ledger.witnessing import show_witnesses

    settings = get_settings()
    with migrated_database(settings) as engine:
        show_witnesses(make_sessionmaker(engine), origin=settings.ledger_origin)


@app.command("peers")
def ledger_peers() -> None:
    """The libraries we witness, the last checkpoint seen from each, and any split view (exits
    3 when there is one)."""
    from shulian.cli.ledger.witnessing import EXIT_SPLIT_VIEW, show_peers

    with migrated_database(get_settings()) as engine:
        if show_peers(make_sessionmaker(engine)):
            raise typer.Exit(EXIT_SPLIT_VIEW)


def audit_sources() -> list[Any]:
    """Every table the ledger audit replays, with the domain function that digests its rows."""
    from shulian.accounts import service as accounts_service
    from shulian.catalog import service as catalog_service
    from shulian.circulation import service as circulation_service
    from shulian.ledger.audit import StateSource

    return [
        StateSource("record", "records", catalog_service.audit_record_states),
        StateSource("item", "items", catalog_service.audit_item_states),
        StateSource("reader", "readers", accounts_service.audit_reader_states),
        StateSource("loan", "loans", circulation_service.audit_loan_states),
        StateSource("hold", "holds", circulation_service.audit_hold_states),
        StateSource("fine", "fines", circulation_service.audit_fine_states),
    ]


@app.command("verify")
def ledger_verify(
    tables: Annotated[
        bool,
        typer.Option(
            help="Also replay the events against the records, items, readers, "
            "loans, holds and fines tables."
        ),
    ] = True,
    workers: Annotated[
        int, typer.Option(help="Processes that recompute the tree (default: one per core).")
    ] = 0,
) -> None:
    """Recompute the tree from the stored leaves and check every leaf against its event, every
    stored hash and every checkpoint's signature and root; then replay the events against the
    tables, naming any row changed, deleted or added behind the platform's back. The outcome is
    kept for the staff ledger page. Exits 1 with a report on any problem."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from shulian.ledger import audit

    settings = get_settings()
    started = utcnow()
    with migrated_database(settings) as engine:
        with session_scope(make_sessionmaker(engine, readonly=True)) as session:
            total = audit.leaf_count(session)
        with (
            session_scope(make_sessionmaker(engine, readonly=True)) as session,
            Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=err,
            ) as bar,
        ):
            tasks = {"leaves": bar.add_task("Verifying the ledger's leaves", total=total)}

            def progress(stage: str, done: int) -> None:
                if stage not in tasks:
                    label = {"events": "Replaying newer events", "rows": "Checking table rows"}
                    tasks[stage] = bar.add_task(label.get(stage, stage), total=None)
                bar.update(tasks[stage], completed=done)

            report = audit.verify(
                session,
                verifier=_ledger_signer(settings).verifier,
                secret=settings.secret(),
                sources=audit_sources() if tables else (),
                progress=progress,
                workers=workers or os.cpu_count() or 1,
                database_url=settings.effective_database_url,
            )
        with session_scope(make_sessionmaker(engine)) as session:
            audit.record_audit(
                session, report, started_at=started, finished_at=utcnow(), started_by="cli"
            )
    if report.ok:
        console.print(
            f"[green]Ledger verified:[/] {report.leaves} leaves, {report.checkpoints} "
            f"checkpoints, {report.rows_checked} table rows."
        )
        return
    table = Table("where", "problem", title=f"{report.problem_count} problems")
    for p in report.problems[:200]:
        table.add_row(escape(p.where), escape(p.problem))
    console.print(table)
    if report.problem_count > 200:
        console.print(f"... and {report.problem_count - 200} more.")
    raise typer.Exit(1)
