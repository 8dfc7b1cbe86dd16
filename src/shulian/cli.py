"""The ``shulian`` command line: serve, db, demo, user."""

from __future__ import annotations

import copy
import logging
import logging.config
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from shulian.core.clock import utcnow
from shulian.core.config import Settings, load_settings
from shulian.core.db import make_engine, make_sessionmaker, session_scope
from shulian.core.errors import ConfigurationError, ShulianError

app = typer.Typer(
    help="Shulian (书链): an open-source smart-library platform.", no_args_is_help=True
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
user_app = typer.Typer(help="Staff and reader accounts.", no_args_is_help=True)
ledger_app = typer.Typer(
    help="The verifiable ledger: checkpoints, proofs, audit.", no_args_is_help=True
)
catalog_app = typer.Typer(help="Catalogue files: import and export.", no_args_is_help=True)
search_app = typer.Typer(help="The search index.", no_args_is_help=True)
sip2_app = typer.Typer(help="The SIP2 server for self-check kiosks.", no_args_is_help=True)
circulation_app = typer.Typer(
    help="Circulation: the periodic jobs and the notice outbox.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(catalog_app, name="catalog")
app.add_typer(search_app, name="search")
app.add_typer(user_app, name="user")
app.add_typer(ledger_app, name="ledger")
app.add_typer(sip2_app, name="sip2")
app.add_typer(circulation_app, name="circulation")
console = Console()
err = Console(stderr=True)


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigurationError as exc:
        err.print(f"[bold red]Configuration error:[/] {exc.detail}")
        raise typer.Exit(2) from None


@contextmanager
def _database(settings: Settings) -> Iterator[Engine]:
    """The database, migrated to the newest schema; its connections closed afterwards."""
    from shulian.migrations import upgrade

    engine = make_engine(settings.effective_database_url)
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(help="Worker processes (on SQLite they share the file and the index).")
    ] = 1,
    migrate: Annotated[bool, typer.Option(help="Apply migrations before serving.")] = True,
) -> None:
    """Serve the web pages and the JSON API (migrations are applied first)."""
    import uvicorn
    import uvicorn.config

    settings = _settings()
    if migrate:
        with _database(settings):
            pass
    if workers > 1:
        # Once, before the workers start, what each would otherwise race the others to do:
        # build the app (which creates the secret and the ledger's keys on first use) and open
        # the search index (rebuilt here if it is from another schema version).
        from shulian.api import create_app
        from shulian.search.service import SearchService

        create_app(settings).state.engine.dispose()
        SearchService(settings.data_dir / "search").index.close()
    console.print(f"Shulian on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    # uvicorn's own access log prints query strings (searches for names, card numbers);
    # shulian.access logs method, path and status only. The logging setup goes to uvicorn,
    # which applies it in every worker process (a basicConfig here reaches only this one).
    log_config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    log_config["formatters"]["shulian"] = {
        "format": "%(asctime)s [%(process)d] %(name)s %(message)s"
    }
    log_config["handlers"]["shulian"] = {
        "formatter": "shulian",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
    }
    log_config["loggers"]["shulian"] = {
        "handlers": ["shulian"],
        "level": "INFO",
        "propagate": False,
    }
    config: dict[str, Any] = {
        "app": "shulian.api:asgi",
        "factory": True,
        "host": host,
        "port": port,
        "proxy_headers": True,
        "server_header": False,
        "access_log": False,
        "log_config": log_config,
    }
    from shulian import serving

    if workers > 1 and serving.available():
        logging.config.dictConfig(log_config)
        raise typer.Exit(serving.run(config, workers=workers))
    uvicorn.run(**config, workers=workers)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database to the newest schema."""
    from shulian.migrations import current_revision

    with _database(_settings()) as engine:
        rev = current_revision(engine)
    console.print(f"Database at revision [bold]{rev}[/]")


@db_app.command("revision")
def db_revision(
    message: Annotated[str, typer.Option("-m", "--message", help="What the revision changes.")],
) -> None:
    """For developers: write a new migration from the difference between the models and the
    (upgraded) database. Read and tidy the generated file before committing it."""
    from alembic import command

    from shulian.migrations import alembic_config

    with _database(_settings()) as engine:
        command.revision(alembic_config(engine), message=message, autogenerate=True)


@app.command()
def demo() -> None:
    """Load the demo library (network, calendars, staff for each role, readers, real records
    with copies on the shelves, and some loans, holds and fines)."""
    from shulian import demo as demo_data
    from shulian.demo import catalog as demo_catalog, circulation as demo_circulation

    with _database(_settings()) as engine:
        factory = make_sessionmaker(engine)
        with session_scope(factory) as session:
            added = demo_data.load(session, now=utcnow())
        records = demo_catalog.load(factory, clock=utcnow)
        with session_scope(factory) as session:
            loans = demo_circulation.load(session, now=utcnow())
    console.print(
        f"Demo library: {added['branches']} branches, {added['staff']} staff, "
        f"{added['readers']} readers, {records} records, {loans} loans added."
    )
    table = Table("account", "password", "role")
    for username, _name, _branch, roles in demo_data.STAFF:
        table.add_row(username, demo_data.DEMO_STAFF_PASSWORD, ", ".join(roles))
    table.add_row("R0001 … R0012", demo_data.DEMO_READER_PASSWORD, "reader")
    console.print(table)


@user_app.command("create")
def user_create(
    kind: Annotated[str, typer.Argument(help="'staff' or 'reader'.")],
    account: Annotated[str, typer.Argument(help="Username (staff) or card number (reader).")],
    name: Annotated[str, typer.Option(help="Display name (staff) or full name (reader).")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="Prompted for when not given.",
        ),
    ],
    role: Annotated[list[str] | None, typer.Option(help="Staff role; repeat for several.")] = None,
    branch: Annotated[
        str | None, typer.Option(help="Branch code (home branch of a reader).")
    ] = None,
    category: Annotated[str, typer.Option(help="Reader category.")] = "adult",
    expires: Annotated[str | None, typer.Option(help="Reader card expiry, YYYY-MM-DD.")] = None,
) -> None:
    """Create a staff account (with roles) or a reader (with a card number)."""
    from pydantic import ValidationError

    from shulian.accounts import service as accounts_service
    from shulian.accounts.schemas import ReaderCreate, StaffCreate

    now = utcnow()
    try:
        with _database(_settings()) as engine, session_scope(make_sessionmaker(engine)) as session:
            if kind == "staff":
                staff = accounts_service.create_staff(
                    session,
                    data=StaffCreate(
                        username=account,
                        display_name=name,
                        password=password,
                        branch=branch,
                        roles=role or [],
                    ),
                    actor="system:cli",
                    now=now,
                )
                console.print(f"Staff account [bold]{staff.username}[/] created (id {staff.id}).")
            elif kind == "reader":
                if branch is None:
                    raise typer.BadParameter("a reader needs --branch (home branch code)")
                expiry = (
                    date.fromisoformat(expires) if expires else date(now.year + 3, now.month, 1)
                )
                reader = accounts_service.register_reader(
                    session,
                    data=ReaderCreate(
                        card_number=account,
                        name=name,
                        category=category,
                        home_branch=branch,
                        expires_on=expiry,
                        password=password,
                    ),
                    actor="system:cli",
                    now=now,
                )
                console.print(f"Reader [bold]{reader.card_number}[/] registered (id {reader.id}).")
            else:
                raise typer.BadParameter("KIND must be 'staff' or 'reader'")
    except (ShulianError, ValidationError, ValueError) as exc:
        detail = exc.detail if isinstance(exc, ShulianError) else str(exc)
        err.print(f"[bold red]Not created:[/] {detail}")
        raise typer.Exit(1) from None


def _ledger_signer(settings: Settings) -> Any:
    from shulian.ledger.note import load_or_create_signer

    return load_or_create_signer(settings.data_dir / "ledger", settings.ledger_origin)


@ledger_app.command("checkpoint")
def ledger_checkpoint() -> None:
    """Append every new event to the ledger and print a freshly signed checkpoint."""
    from shulian.ledger import service as ledger_service

    settings = _settings()
    with _database(settings) as engine:
        factory = make_sessionmaker(engine)
        added = ledger_service.catch_up(factory, secret=settings.secret(), now=utcnow())
        with session_scope(factory) as session:
            cp = ledger_service.issue_checkpoint(
                session, signer=_ledger_signer(settings), now=utcnow()
            )
            note = cp.note
    err.print(f"{added} events appended.")
    sys.stdout.write(note)  # raw: a wrapped signature line would no longer verify


@ledger_app.command("key")
def ledger_key() -> None:
    """Print this library's checkpoint verifier key, for other libraries and auditors."""
    sys.stdout.write(_ledger_signer(_settings()).verifier.vkey + "\n")


@ledger_app.command("proof")
def ledger_proof(
    index: Annotated[int, typer.Argument(help="Leaf index (0-based).")],
    size: Annotated[
        int | None, typer.Option(help="Tree size; default the latest checkpoint.")
    ] = None,
) -> None:
    """Print the inclusion proof of a leaf, as JSON."""
    from shulian.ledger import service as ledger_service

    try:
        with _database(_settings()) as engine, session_scope(make_sessionmaker(engine)) as s:
            proof = ledger_service.inclusion_proof(s, index=index, size=size)
    except ShulianError as exc:
        err.print(f"[bold red]No proof:[/] {exc.detail}")
        raise typer.Exit(1) from None
    console.print_json(proof.model_dump_json())


def _ledger_cosigner(settings: Settings) -> Any:
    from shulian.ledger.cosign import load_or_create_cosigner

    return load_or_create_cosigner(settings.data_dir / "ledger", settings.effective_witness_name)


@ledger_app.command("witness")
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
    from shulian.ledger.cli import run_witness

    settings = _settings()
    with _database(settings) as engine:
        run_witness(
            make_sessionmaker(engine),
            url,
            key=key,
            cosigner=_ledger_cosigner(settings),
            now=utcnow(),
        )


@ledger_app.command("witness-key")
def ledger_witness_key() -> None:
    """Print this library's witness key, for the libraries it witnesses (`ledger trust-witness`
    there)."""
    sys.stdout.write(_ledger_cosigner(_settings()).key.vkey + "\n")


@ledger_app.command("trust-witness")
def ledger_trust_witness(
    vkey: Annotated[
        str, typer.Argument(help="The witness's key (`shulian ledger witness-key` there).")
    ],
) -> None:
    """Accept this witness's cosignatures on our checkpoints."""
    from shulian.ledger.cli import trust

    with _database(_settings()) as engine:
        trust(make_sessionmaker(engine), vkey, now=utcnow())


@ledger_app.command("untrust-witness")
def ledger_untrust_witness(
    name: Annotated[str, typer.Argument(help="The witness's name, as `ledger witnesses` shows.")],
) -> None:
    """Stop accepting this witness's cosignatures (those already held are kept)."""
    from shulian.ledger.cli import untrust

    with _database(_settings()) as engine:
        untrust(make_sessionmaker(engine), name)


@ledger_app.command("witnesses")
def ledger_witnesses() -> None:
    """The witnesses we trust and the cosignatures they gave our checkpoints."""
    from shulian.ledger.cli import show_witnesses

    settings = _settings()
    with _database(settings) as engine:
        show_witnesses(make_sessionmaker(engine), origin=settings.ledger_origin)


@ledger_app.command("peers")
def ledger_peers() -> None:
    """The libraries we witness, the last checkpoint seen from each, and any split view (exits
    3 when there is one)."""
    from shulian.ledger.cli import EXIT_SPLIT_VIEW, show_peers

    with _database(_settings()) as engine:
        if show_peers(make_sessionmaker(engine)):
            raise typer.Exit(EXIT_SPLIT_VIEW)


def _audit_sources() -> list[Any]:
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


@ledger_app.command("verify")
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

    settings = _settings()
    started = utcnow()
    with _database(settings) as engine:
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
                sources=_audit_sources() if tables else (),
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
        table.add_row(p.where, p.problem)
    console.print(table)
    if report.problem_count > 200:
        console.print(f"... and {report.problem_count - 200} more.")
    raise typer.Exit(1)


@catalog_app.command("import")
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
    from shulian.catalog.cli import run_import

    with _database(_settings()) as engine:
        run_import(
            make_sessionmaker(engine),
            file,
            format=format,
            encoding=encoding,
            publish=publish,
            branch=branch,
        )


@catalog_app.command("export")
def catalog_export(
    out: Annotated[
        Path | None, typer.Argument(help="File to write; standard output if omitted.")
    ] = None,
    format: Annotated[str, typer.Option(help="marc21, marcxml, unimarc or csv.")] = "marc21",
    drafts: Annotated[bool, typer.Option(help="Include records not yet published.")] = False,
) -> None:
    """Export the catalogue with its items."""
    from shulian.catalog.cli import run_export
    from shulian.catalog.marc import FORMATS

    if format not in FORMATS:
        err.print(f"[red]Unknown format {format}; use one of {', '.join(FORMATS)}[/]")
        raise typer.Exit(2)
    with _database(_settings()) as engine, make_sessionmaker(engine)() as session:
        run_export(session, out, format=format, drafts=drafts)


@search_app.command("reindex")
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
    from shulian.search.cli import reindex
    from shulian.search.service import SearchService

    settings = _settings()
    with _database(settings) as engine:
        n = reindex(
            SearchService(settings.data_dir / "search"),
            make_sessionmaker(engine, readonly=True),
            memory=memory_mb * 1_000_000,
        )
    console.print(f"Indexed {n} published records.")


@sip2_app.command("serve")
def sip2_serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "0.0.0.0",  # noqa: S104
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 6001,
    tls_cert: Annotated[
        Path | None, typer.Option(help="PEM certificate chain: serve TLS only.")
    ] = None,
    tls_key: Annotated[Path | None, typer.Option(help="PEM private key of --tls-cert.")] = None,
    require_patron_password: Annotated[
        bool, typer.Option(help="Refuse blank patron passwords (AD) from every kiosk.")
    ] = False,
    library_name: Annotated[str, typer.Option(help="Sent to kiosks as AM.")] = "Shulian",
    idle_timeout: Annotated[
        float, typer.Option(help="Seconds a kiosk may stay silent before it is dropped.")
    ] = 600.0,
    workers: Annotated[int, typer.Option(help="Threads doing database work.")] = 8,
) -> None:
    """Serve SIP2 to self-check kiosks (log in with an account from `sip2 kiosk-add`)."""
    import asyncio
    import contextlib

    from shulian.circulation import service as circulation_service
    from shulian.protocols.sip2.server import Sip2Server, make_ssl_context
    from shulian.protocols.sip2.state import Sip2Config

    if (tls_cert is None) != (tls_key is None):
        err.print("[bold red]Give both --tls-cert and --tls-key, or neither.[/]")
        raise typer.Exit(2)
    settings = _settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with _database(settings) as migrated:
        url = str(migrated.url.render_as_string(hide_password=False))
    engine = make_engine(url, pool_size=workers + 2, max_overflow=4)
    try:
        factory = make_sessionmaker(engine)
        with session_scope(make_sessionmaker(engine, readonly=True)) as session:
            tz = circulation_service.library_tz(session)
        config = Sip2Config(
            library_name=library_name,
            tz=tz,
            language=settings.default_language,
            require_patron_password=require_patron_password,
            idle_timeout=idle_timeout,
            workers=workers,
        )
        context = make_ssl_context(str(tls_cert), str(tls_key)) if tls_cert and tls_key else None
        server = Sip2Server(
            factory=factory,
            read_factory=make_sessionmaker(engine, readonly=True),
            config=config,
            ssl_context=context,
        )
        scheme = "SIP2 over TLS" if context else "SIP2"
        console.print(f"{scheme} on {host}:{port}")
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(server.serve_forever(host, port))
    finally:
        engine.dispose()


@sip2_app.command("kiosk-add")
def sip2_kiosk_add(
    login: Annotated[str, typer.Argument(help="The kiosk's SIP2 login (CN).")],
    branch: Annotated[str, typer.Option(help="Code of the branch it lends and returns for.")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="The kiosk's SIP2 password (CO); prompted for when not given.",
        ),
    ],
    encoding: Annotated[
        str, typer.Option(help="utf-8, or gb18030 for kiosks that send GBK.")
    ] = "utf-8",
    institution: Annotated[
        str, typer.Option(help="Institution id (AO) it sends; default the branch code.")
    ] = "",
    name: Annotated[str, typer.Option(help="Where the kiosk stands, for staff.")] = "",
) -> None:
    """Create a kiosk's SIP2 account."""
    from pydantic import ValidationError

    from shulian.selfservice import service as selfservice_service
    from shulian.selfservice.schemas import KioskCreate

    try:
        with _database(_settings()) as engine, session_scope(make_sessionmaker(engine)) as session:
            kiosk = selfservice_service.create_kiosk(
                session,
                data=KioskCreate(
                    login=login,
                    password=password,
                    name=name,
                    branch_code=branch,
                    institution_id=institution,
                    encoding=encoding,
                ),
                actor="system:cli",
                now=utcnow(),
            )
            console.print(
                f"Kiosk [bold]{kiosk.login}[/] created (id {kiosk.id}) for branch "
                f"{kiosk.branch_code}, {kiosk.encoding}."
            )
    except (ShulianError, ValidationError) as exc:
        detail = exc.detail if isinstance(exc, ShulianError) else str(exc)
        err.print(f"[bold red]Not created:[/] {detail}")
        raise typer.Exit(1) from None


@sip2_app.command("kiosks")
def sip2_kiosks() -> None:
    """List the kiosks' SIP2 accounts."""
    from shulian.selfservice import service as selfservice_service

    table = Table("id", "login", "branch", "institution", "encoding", "active", "name")
    with _database(_settings()) as engine, session_scope(make_sessionmaker(engine)) as session:
        for k in selfservice_service.list_kiosks(session):
            table.add_row(
                str(k.id),
                k.login,
                k.branch_code,
                k.institution_id,
                k.encoding,
                "yes" if k.active else "no",
                k.name,
            )
    console.print(table)


@circulation_app.command("daily")
def circulation_daily() -> None:
    """Run the periodic jobs once (serve runs them hourly): expire holds left on the shelf,
    accrue fines, queue due-soon and overdue notices, anonymise old loans."""
    from shulian.circulation import worker

    with _database(_settings()) as engine:
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


@circulation_app.command("notices")
def circulation_notices() -> None:
    """Deliver the notices that are due, once (serve does this every few seconds)."""
    from shulian.core import i18n
    from shulian.notify.delivery import deliver_notices
    from shulian.notify.transports import transports_from_settings
    from shulian.registry import notice_kinds

    settings = _settings()
    i18n.load_catalogs(Path(__file__).parent / "web" / "i18n")
    with _database(settings) as engine:
        report = deliver_notices(
            make_sessionmaker(engine),
            now=utcnow(),
            transports=transports_from_settings(settings),
            kinds=notice_kinds(),
            language=settings.default_language,
        )
    console.print(f"Notices: {report}.")


def _rows_progress() -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )


class _TableBars:
    """One bar per table (rows done of rows in the table) for backup and restore."""

    def __init__(self, bar: Any, verb: str) -> None:
        self.bar, self.verb = bar, verb
        self.tasks: dict[str, Any] = {}

    def __call__(self, table: str, done: int, total: int) -> None:
        if table not in self.tasks:
            self.tasks[table] = self.bar.add_task(f"{self.verb} {table}", total=total or 1)
        self.bar.update(self.tasks[table], completed=done if total else 1)


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


@contextmanager
def _exits_on_failure(failed: str, interrupted: str) -> Iterator[None]:
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
        err.print(f"[bold red]{failed}:[/] {detail}")
        raise typer.Exit(1) from None


@app.command()
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

    settings = _settings()
    url = settings.effective_database_url
    now = utcnow()
    if path is None:
        folder = settings.data_dir / "backups"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = folder / f"shulian-{now:%Y%m%dT%H%M%SZ}.tar"
    if not path.parent.is_dir():
        err.print(f"[bold red]Backup failed:[/] the folder {path.parent} does not exist.")
        raise typer.Exit(1)
    if path.exists():
        err.print(f"[bold red]Backup failed:[/] {path} exists; give another name.")
        raise typer.Exit(1)
    database = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else None
    if database is not None and not Path(database).is_file():
        err.print(f"[bold red]Backup failed:[/] there is no database at {database}.")
        raise typer.Exit(1)
    engine = make_engine(url)
    try:
        with _exits_on_failure("Backup failed", "no archive written."), _rows_progress() as bar:
            manifest = create_backup(
                engine,
                data_dir=settings.data_dir,
                path=path,
                now=now,
                progress=_TableBars(bar, "Saving"),
            )
    finally:
        engine.dispose()
    console.print(
        f"Backup written to [bold]{path}[/] ({_size(path.stat().st_size)}): "
        f"{len(manifest.tables)} tables, {manifest.rows} rows, schema revision "
        f"{manifest.revision}, ledger of {manifest.ledger_leaves} leaves (last checkpoint at "
        f"{manifest.ledger_checkpoint}); files: {', '.join(f.path for f in manifest.files[:6])}"
        + (f" and {len(manifest.files) - 6} more" if len(manifest.files) > 6 else "")
        + "."
    )
    if settings.secret_key is not None:
        err.print(
            "[yellow]The secret comes from SHULIAN_SECRET_KEY and is not in the archive: keep it "
            "with the archive, or `ledger verify` fails after a restore.[/]"
        )
    err.print("The archive holds keys and readers' data: keep it as safe as the server.")


@app.command()
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

    settings = _settings()
    if not path.is_file():
        err.print(f"[bold red]Restore refused:[/] {path} is not a file.")
        raise typer.Exit(1)
    engine = make_engine(settings.effective_database_url)
    try:
        with (
            _exits_on_failure("Restore refused", "the database is as it was."),
            _rows_progress() as bar,
        ):
            check_task = bar.add_task("Checking the archive", total=path.stat().st_size)
            report = restore_backup(
                engine,
                data_dir=settings.data_dir,
                path=path,
                force=force,
                progress=_TableBars(bar, "Loading"),
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
        console.print(f"Files written: {', '.join(report.files_written[:8])}.")
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
                f"[yellow]Search index not rebuilt ({exc.detail}): run `shulian search "
                "reindex` once the server is stopped.[/]"
            )
    else:
        console.print("Now run `shulian search reindex` to rebuild the search index.")
    console.print("Check the ledger with `shulian ledger verify`.")


if __name__ == "__main__":  # pragma: no cover - `python -m shulian.cli`
    sys.exit(app())
