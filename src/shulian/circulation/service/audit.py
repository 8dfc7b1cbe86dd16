"""What the ledger audit replays circulation's rows against: the state digest of every loan,
hold and fine as it stands, computed exactly as the events that changed them computed it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from shulian.circulation.models import Fine, Hold, Loan
from shulian.circulation.service.common import fine_state, hold_state, loan_state_of
from shulian.core.events import state_digest


def audit_loan_states(session: Session, *, chunk: int = 10_000) -> Iterator[tuple[int, str]]:
    """Loans are the biggest table a library has (millions of rows): read as plain columns, and
    the digest of the terms, which most loans share, computed once per distinct text."""
    table: Any = Loan.__table__
    c = table.c
    stmt = (
        select(
            c.id,
            c.item_id,
            c.reader_id,
            c.branch_code,
            c.out_at,
            c.due_at,
            c.renewals,
            c.returned_at,
            cast(c.terms, Text),
        )
        .order_by(c.id)
        .execution_options(yield_per=chunk)
    )
    terms_digests: dict[str, str] = {}
    for lid, item, reader, branch, out, due, renewals, returned, terms in session.execute(stmt):
        digest = terms_digests.get(terms)
        if digest is None:
            digest = state_digest(json.loads(terms))
            if len(terms_digests) < 10_000:
                terms_digests[terms] = digest
        yield lid, loan_state_of(
            item_id=item, reader_id=reader, branch_code=branch, out_at=out, due_at=due,
            renewals=renewals, returned_at=returned, terms_digest=digest,
        )  # fmt: skip


def audit_hold_states(session: Session) -> Iterator[tuple[int, str]]:
    for hold in session.scalars(select(Hold).order_by(Hold.id).execution_options(yield_per=5000)):
        yield hold.id, hold_state(hold)


def audit_fine_states(session: Session) -> Iterator[tuple[int, str]]:
    for fine in session.scalars(select(Fine).order_by(Fine.id).execution_options(yield_per=5000)):
        yield fine.id, fine_state(fine)
