"""``shulian notify``: the notice outbox by hand: deliver what is due, see what waits and what
failed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from shulian.cli.common import console, err, get_settings, migrated_database
from shulian.core.clock import utcnow
from shulian.core.db import make_sessionmaker, session_scope

app = typer.Typer(
    help="The notice outbox: deliver what is due, see what waits and what failed.",
    no_args_is_help=True,
)


def deliver_due() -> None:
    """Deliver the notices that are due, once, and say how it went."""
    from shulian.core import i18n
    from shulian.notify.delivery import deliver_notices
    from shulian.notify.transports import transports_from_settings
    from shulian.registry import notice_kinds

    settings = get_settings()
    i18n.load_catalogs(Path(__file__).parents[1] / "web" / "i18n")
    with migrated_database(settings) as engine:
        report = deliver_notices(
            make_sessionmaker(engine),
            now=utcnow(),
            transports=transports_from_settings(settings),
            kinds=notice_kinds(),
            language=settings.default_language,
        )
    console.print(f"Notices: {report}.")


@app.command("deliver")
def notify_deliver() -> None:
    """Deliver the notices that are due, once (serve does this every few seconds)."""
    deliver_due()


@app.command("outbox")
def notify_outbox(
    status: Annotated[
        str | None,
        typer.Option(help="Only notices in this state: pending, sent, failed, obsolete."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=200, help="How many to list.")] = 20,
) -> None:
    """How many notices are in each state, and the newest ones with the kind of any failure
    (no addresses, no message text; the reasons are on the staff page /staff/notices)."""
    from shulian.core.errors import ShulianError
    from shulian.notify import service as notify_service

    with (
        migrated_database(get_settings()) as engine,
        session_scope(make_sessionmaker(engine, readonly=True)) as session,
    ):
        try:
            page = notify_service.outbox(session, status=status, size=limit)
        except ShulianError as exc:
            err.print(f"[bold red]{escape(exc.detail)}[/]")
            raise typer.Exit(2) from None
    console.print(", ".join(f"{s.value}: {n}" for s, n in page.counts.items()))
    for n in page.items:
        failure = f" {n.error_kind.value}" if n.error_kind.value else ""
        console.print(
            f"#{n.id} {n.created_at:%Y-%m-%d %H:%M} "
            + escape(f"{n.kind} {n.channel} {n.card_number} ")
            + f"{n.status.value} tries={n.attempts}{failure}",
            highlight=False,
            soft_wrap=True,
        )
