"""What the ledger audit replays circulation's rows against: the state digest of every loan,
hold and fine as it stands, computed exactly as the events that changed them computed it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from shulian.circulation.models import Fine, Hold
from shulian.circulation.service.common import fine_state, hold_state, loan_state_digest
from shulian.core.events import state_digest


def audit_loan_states(session: Session, *, chunk: int = 10_000) -> Iterator[tuple[int, str]]:
    """Loans are the biggest table a library has (millions of rows): read as plain driver
    values (on SQLite the times as their stored text, rewritten to ISO form without parsing),
    and the digest of the terms, which most loans share, computed once per distinct text."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    stmt = text(
        "SELECT id, item_id, reader_id, branch_code, out_at, due_at, renewals, returned_at,"
        " CAST(terms AS TEXT) FROM loans ORDER BY id"
    ).execution_options(stream_results=True, yield_per=chunk)
    iso = _sqlite_iso if sqlite else _aware_iso
    terms_digests: dict[str, str] = {}
    digest_of = loan_state_digest
    for (
        lid,
        item,
        reader,
        branch,
        out,
        due,
        renewals,
        returned,
        terms,
    ) in session.connection().execute(stmt):
        digest = terms_digests.get(terms)
        if digest is None:
            digest = state_digest(json.loads(terms))
            if len(terms_digests) < 10_000:
                terms_digests[terms] = digest
        yield lid, digest_of(
            item_id=item, reader_id=reader, branch_code=branch, out=iso(out), due=iso(due),
            renewals=renewals, returned=iso(returned) if returned is not None else None,
            terms_digest=digest,
        )  # fmt: skip


def _sqlite_iso(value: str) -> str:
    """``datetime.isoformat()`` of the aware UTC time SQLite stores as naive text
    (``2026-11-21 09:30:00.000000``): no microseconds when they are zero, then the offset."""
    if len(value) == 26 and value[10] == " " and value[19] == ".":
        micro = value[19:] if value[20:] != "000000" else ""
        return f"{value[:10]}T{value[11:19]}{micro}+00:00"
    return datetime.fromisoformat(value).replace(tzinfo=UTC).isoformat()


def _aware_iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def audit_hold_states(session: Session) -> Iterator[tuple[int, str]]:
    for hold in session.scalars(select(Hold).order_by(Hold.id).execution_options(yield_per=5000)):
        yield hold.id, hold_state(hold)


def audit_fine_states(session: Session) -> Iterator[tuple[int, str]]:
    for fine in session.scalars(select(Fine).order_by(Fine.id).execution_options(yield_per=5000)):
        yield fine.id, fine_state(fine)
