"""The reports of ``shulian ledger witness`` and friends: witnessing another library, trusting
witnesses, and the tables of peers, witnesses, cosignatures and split views. Imported by those
commands when they run."""

from __future__ import annotations

import base64
from datetime import datetime

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from shulian.cli.common import console, err
from shulian.core.db import session_scope
from shulian.core.errors import ShulianError
from shulian.ledger import cosignatures, peer, witness
from shulian.ledger.cosign import Cosigner

EXIT_REFUSED = 1
EXIT_SPLIT_VIEW = 3


def run_witness(
    factory: sessionmaker[Session],
    url: str,
    *,
    key: str | None,
    cosigner: Cosigner,
    now: datetime,
) -> witness.WitnessOutcome:
    """Witness the library at ``url`` and send it our cosignature; prints a report and exits
    1 on a refusal, 3 on a split view."""
    try:
        url = peer.normalize_url(url)
    except witness.PeerError as exc:
        err.print(f"[bold red]Refused:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from None
    with peer.make_client() as client:
        source = peer.HttpPeer(url, client)
        with session_scope(factory) as session:
            outcome = witness.witness_peer(
                session, source=source, cosigner=cosigner, now=now, key=key
            )
        if outcome.cosigned_note is not None:
            try:
                source.deliver(outcome.cosigned_note)
            except witness.PeerError as exc:
                outcome.warnings.append(str(exc))
                with session_scope(factory) as session:
                    witness.record_delivery_failure(
                        session, origin=outcome.origin or "", reason=str(exc)
                    )
    _report(outcome)
    return outcome


def _report(outcome: witness.WitnessOutcome) -> None:
    if outcome.new_key is not None:
        err.print(
            f"[bold yellow]Warning:[/] first contact with {escape(outcome.origin or outcome.url)}:"
            f" trusting the key it publishes, {escape(outcome.new_key)}\n"
            "Check it with that library (`shulian ledger key` there) and pin it with --key; "
            "from now on any other key is refused.",
            soft_wrap=True,
        )
    if outcome.status == "cosigned":
        root = base64.b64encode(outcome.root or b"").decode()
        since = (
            f"consistent with size {outcome.previous_size} witnessed before"
            if outcome.previous_size is not None
            else "first checkpoint witnessed from it"
        )
        console.print(
            f"[green]Cosigned[/] {escape(outcome.origin or '')} at size {outcome.size}, "
            f"root {root} ({since}).",
            soft_wrap=True,
        )
        for w in outcome.warnings:
            err.print(
                f"[bold yellow]Warning:[/] our cosignature is kept here but was not delivered: "
                f"{escape(w)}",
                soft_wrap=True,
            )
        return
    if outcome.status == "split_view":
        err.print(
            f"[bold red]SPLIT VIEW[/] {escape(outcome.origin or outcome.url)}: "
            f"{escape(outcome.reason)}\n"
            "The log showed two histories. Both signed checkpoints are kept as evidence "
            "(`shulian ledger peers`); nothing was cosigned.",
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_SPLIT_VIEW)
    err.print(
        f"[bold red]Refused:[/] {escape(outcome.url)}: {escape(outcome.reason)}", soft_wrap=True
    )
    raise typer.Exit(EXIT_REFUSED)


def trust(factory: sessionmaker[Session], vkey: str, *, now: datetime) -> None:
    try:
        with session_scope(factory) as session:
            row = cosignatures.trust_witness(session, vkey=vkey, now=now)
            name = row.name
    except ShulianError as exc:
        err.print(f"[bold red]Not trusted:[/] {escape(exc.detail)}", soft_wrap=True)
        raise typer.Exit(1) from None
    console.print(
        f"Cosignatures by [bold]{escape(name)}[/] on our checkpoints are now accepted.",
        soft_wrap=True,
    )


def untrust(factory: sessionmaker[Session], name: str) -> None:
    with session_scope(factory) as session:
        found = cosignatures.untrust_witness(session, name=name)
    if not found:
        err.print(f"[bold red]Not a trusted witness:[/] {escape(name)}", soft_wrap=True)
        raise typer.Exit(1)
    console.print(f"Cosignatures by {escape(name)} are no longer accepted.", soft_wrap=True)


def _short(value: str | None, n: int = 16) -> str:
    return "-" if value is None else (value[:n] + "…" if len(value) > n else value)


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title)
    for i, name in enumerate(columns):
        table.add_column(name, no_wrap=i == 0)  # names stay whole, to be copied
    return table


def show_witnesses(factory: sessionmaker[Session], *, origin: str) -> None:
    with session_scope(factory) as session:
        trusted = cosignatures.list_witnesses(session)
        held = cosignatures.list_cosignatures(session, origin=origin, limit=50)
    table = _table("Witnesses we trust", "witness", "key ID", "trusted since")
    for w in trusted:
        table.add_row(escape(w.name), escape(w.vkey.split("+")[1]), w.added_at[:19])
    console.print(table)
    table = _table("Cosignatures on our checkpoints", "witness", "size", "root", "cosigned at")
    for c in held:
        table.add_row(escape(c.witness), str(c.tree_size), _short(c.root_hash), c.time[:19])
    console.print(table)


def show_peers(factory: sessionmaker[Session]) -> bool:
    """Prints the libraries we witness and any split view; returns whether one was seen."""
    with session_scope(factory) as session:
        peers = witness.list_peers(session)
        views = witness.list_split_views(session)
    table = _table(
        "Libraries we witness", "origin", "url", "last size", "last root", "checked", "error"
    )
    for p in peers:
        size = "-" if p.last_size is None else str(p.last_size)
        checked = "-" if p.last_checked_at is None else p.last_checked_at[:19]
        table.add_row(
            escape(p.origin),
            escape(p.url),
            size,
            _short(p.last_root),
            checked,
            escape(p.last_error or ""),
        )
    console.print(table)
    if views:
        table = _table("[bold red]Split views[/]", "origin", "detected", "reason")
        for v in views:
            table.add_row(escape(v.origin), v.detected_at[:19], escape(v.reason))
        console.print(table)
    return bool(views)
