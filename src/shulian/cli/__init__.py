"""The ``shulian`` command line: the root app, with ``serve``, ``demo``, ``backup`` and
``restore``, and one sub-app per domain (``db``, ``catalog``, ``search``, ``user``, ``ledger``,
``sip2``, ``circulation``, ``notify``, ``consortium``: the one to copy), each in its own module
here. A new domain adds its module and one ``add_typer`` line below. Imports that take time stay
inside the commands."""

from __future__ import annotations

import copy
import logging
import logging.config
from typing import Annotated, Any

import typer
from rich.table import Table

from shulian.cli import (
    accounts,
    backup,
    catalog,
    circulation,
    consortium,
    db,
    ledger,
    notify,
    search,
    sip2,
)
from shulian.cli.common import console, get_settings, migrated_database
from shulian.core.clock import utcnow
from shulian.core.db import make_sessionmaker, session_scope

app = typer.Typer(
    help="Shulian (书链): an open-source smart-library platform.", no_args_is_help=True
)


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

    settings = get_settings()
    if migrate:
        with migrated_database(settings):
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
        # The app itself believes X-Forwarded-* from SHULIAN_TRUSTED_PROXIES only (api.py);
        # uvicorn's own handling (trusting 127.0.0.1) would apply before it.
        "proxy_headers": False,
        "server_header": False,
        "access_log": False,
        "log_config": log_config,
    }
    from shulian import serving

    if workers > 1 and serving.available():
        logging.config.dictConfig(log_config)
        raise typer.Exit(serving.run(config, workers=workers))
    uvicorn.run(**config, workers=workers)


@app.command()
def demo() -> None:
    """Load the demo library (network, calendars, staff for each role, readers, real records
    with copies on the shelves, and some loans, holds and fines)."""
    from shulian import demo as demo_data
    from shulian.demo import catalog as demo_catalog, circulation as demo_circulation

    with migrated_database(get_settings()) as engine:
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


app.command()(backup.backup)
app.command()(backup.restore)
app.add_typer(db.app, name="db")
app.add_typer(catalog.app, name="catalog")
app.add_typer(search.app, name="search")
app.add_typer(accounts.app, name="user")
app.add_typer(ledger.app, name="ledger")
app.add_typer(sip2.app, name="sip2")
app.add_typer(circulation.app, name="circulation")
app.add_typer(notify.app, name="notify")
app.add_typer(consortium.app, name="consortium")
