"""``shulian sip2``: the SIP2 server for self-check kiosks (``protocols/sip2``) and the kiosks'
accounts."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from shulian.cli.common import console, err, get_settings, migrated_database, refusals
from shulian.core.clock import utcnow
from shulian.core.db import make_engine, make_sessionmaker, session_scope

app = typer.Typer(help="The SIP2 server for self-check kiosks.", no_args_is_help=True)


@app.command("serve")
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
    settings = get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with migrated_database(settings) as migrated:
        url = str(migrated.url.render_as_string(hide_password=False))
    engine = make_engine(
        url,
        pool_size=workers + 2,
        max_overflow=4,
        statement_timeout=settings.db_statement_timeout,
        idle_in_transaction_timeout=settings.db_idle_in_transaction_timeout,
    )
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
            throttle_secret=settings.secret(),
            patron_max_failures=settings.login_max_failures,
            patron_failure_window=float(settings.login_window_seconds),
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


@app.command("kiosk-add")
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

    from shulian.selfservice import service as selfservice_service
    from shulian.selfservice.schemas import KioskCreate

    with (
        refusals("Not created"),
        migrated_database(get_settings()) as engine,
        session_scope(make_sessionmaker(engine)) as session,
    ):
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
            f"Kiosk [bold]{escape(kiosk.login)}[/] created (id {kiosk.id}) for branch "
            f"{escape(kiosk.branch_code)}, {kiosk.encoding}."
        )


@app.command("kiosks")
def sip2_kiosks() -> None:
    """List the kiosks' SIP2 accounts."""
    from shulian.selfservice import service as selfservice_service

    table = Table("id", "login", "branch", "institution", "encoding", "active", "name")
    with (
        migrated_database(get_settings()) as engine,
        session_scope(make_sessionmaker(engine)) as session,
    ):
        for k in selfservice_service.list_kiosks(session):
            table.add_row(
                str(k.id),
                escape(k.login),
                escape(k.branch_code),
                escape(k.institution_id),
                escape(k.encoding),
                "yes" if k.active else "no",
                escape(k.name),
            )
    console.print(table)
