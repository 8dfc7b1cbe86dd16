"""What the circulation operations share: options, the reader's standing, events, read shapes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shulian.accounts import service as accounts_service
from shulian.circulation.errors import CardExpired, FinesOverLimit, ReaderBlocked
from shulian.circulation.models import CirculationOption, Fine, Hold, Loan, Transit
from shulian.circulation.policy import Terms, local_date
from shulian.circulation.schemas import LoanRead
from shulian.circulation.types import HoldStatus
from shulian.core import events
from shulian.core.db import transaction_cache
from shulian.core.errors import ShulianError
from shulian.core.events import state_digest, text_digest

DEFAULT_OPTIONS = {
    "timezone": "Asia/Shanghai",
    "history_days": "30",
    "due_soon_days": "2",
    "default_transit_hours": "48",
}


def option(session: Session, name: str) -> str:
    """A circulation option, all read in one query once per transaction (an option left at its
    default has no row, so the identity map cannot remember it)."""
    cache = transaction_cache(session)
    options: dict[str, str] | None = cache.get("circulation_options")
    if options is None:
        options = dict(DEFAULT_OPTIONS)
        rows = session.execute(select(CirculationOption.name, CirculationOption.value))
        options.update((name, value) for name, value in rows)
        cache["circulation_options"] = options
    return options[name]


def library_tz(session: Session) -> ZoneInfo:
    return ZoneInfo(option(session, "timezone"))


def reader_ref(reader_id: int | None) -> str | None:
    """How a reader appears in events: the ledger turns ``reader:<id>`` into a pseudonym."""
    return f"reader:{reader_id}" if reader_id is not None else None


def money(cents: int) -> str:
    return f"¥{cents / 100:.2f}"


def loan_state(loan: Loan) -> str:
    return loan_state_of(
        item_id=loan.item_id,
        reader_id=loan.reader_id,
        branch_code=loan.branch_code,
        out_at=loan.out_at,
        due_at=loan.due_at,
        renewals=loan.renewals,
        returned_at=loan.returned_at,
        terms_digest=state_digest(loan.terms),
    )


def loan_state_of(
    *,
    item_id: int,
    reader_id: int | None,
    branch_code: str,
    out_at: datetime,
    due_at: datetime,
    renewals: int,
    returned_at: datetime | None,
    terms_digest: str,
) -> str:
    """:func:`loan_state` from a loan's columns."""
    return loan_state_digest(
        item_id=item_id,
        reader_id=reader_id,
        branch_code=branch_code,
        out=out_at.isoformat(),
        due=due_at.isoformat(),
        renewals=renewals,
        returned=returned_at.isoformat() if returned_at else None,
        terms_digest=terms_digest,
    )


_JSON_STRING = json.encoder.encode_basestring


def loan_state_digest(
    *,
    item_id: int,
    reader_id: int | None,
    branch_code: str,
    out: str,
    due: str,
    renewals: int,
    returned: str | None,
    terms_digest: str,
) -> str:
    """The state digest of a loan from its columns, times given as ISO text: the canonical JSON
    written out by hand (the ledger audit digests millions of loans). The same text as
    ``state_digest`` of the dict it spells, which a test checks."""
    canon = "".join(
        (
            '{"branch":', _JSON_STRING(branch_code),
            ',"due":', _JSON_STRING(due),
            ',"item":', str(int(item_id)),
            ',"out":', _JSON_STRING(out),
            ',"reader":', "null" if reader_id is None else f'"reader:{int(reader_id)}"',
            ',"renewals":', str(int(renewals)),
            ',"returned":', "null" if returned is None else _JSON_STRING(returned),
            ',"terms":', _JSON_STRING(terms_digest), "}",
        )
    )  # fmt: skip
    return text_digest(canon)


def hold_state(hold: Hold) -> str:
    return state_digest(
        {
            "record": hold.record_id,
            "item": hold.item_id,
            "reader": reader_ref(hold.reader_id),
            "pickup": hold.pickup_branch,
            "status": hold.status.value,
            "trapped": hold.trapped_item_id,
        }
    )


def fine_state(fine: Fine) -> str:
    return state_digest(
        {
            "reader": reader_ref(fine.reader_id),
            "loan": fine.loan_id,
            "amount": fine.amount_cents,
            "paid": fine.paid_cents,
            "waived": fine.waived_cents,
            "closed": fine.closed,
        }
    )


def emit(
    session: Session,
    *,
    type: str,
    now: datetime,
    actor: str,
    branch: str | None,
    subject: str,
    payload: dict[str, Any],
) -> int:
    """Record a circulation event in the caller's transaction; returns its ``seq``."""
    ev = events.record(
        session, type=type, now=now, actor=actor, branch=branch, subject=subject, payload=payload
    )
    return ev.seq


def balance(session: Session, reader_id: int) -> int:
    """Cents the reader owes now (open fines, including overdue fines accrued so far)."""
    owed = session.scalar(
        select(func.sum(Fine.amount_cents - Fine.paid_cents - Fine.waived_cents)).where(
            Fine.reader_id == reader_id, Fine.closed.is_(False)
        )
    )
    return int(owed or 0)


def blocks(
    session: Session,
    *,
    reader_id: int,
    max_fines_cents: int,
    now: datetime,
    owed: int | None = None,
) -> list[ShulianError]:
    """Every reason the reader may not borrow, renew or hold now, in the order a desk checks.
    ``owed``: the reader's balance when the caller has read it already (``reader_load``)."""
    reader = accounts_service.get_reader(session, reader_id)
    out: list[ShulianError] = []
    if reader.status.value != "active":
        out.append(ReaderBlocked(reader.status.value))
    if reader.expires_on < local_date(now, library_tz(session)):
        out.append(CardExpired(reader.expires_on.isoformat()))
    if owed is None:
        owed = balance(session, reader_id)
    if owed > max_fines_cents:
        out.append(FinesOverLimit(money(owed), money(max_fines_cents)))
    return out


def check_standing(
    session: Session,
    *,
    reader_id: int,
    max_fines_cents: int,
    now: datetime,
    owed: int | None = None,
) -> None:
    """Raises the first of ReaderBlocked, CardExpired, FinesOverLimit that applies."""
    found = blocks(
        session, reader_id=reader_id, max_fines_cents=max_fines_cents, now=now, owed=owed
    )
    if found:
        raise found[0]


@dataclass(frozen=True)
class ReaderLoad:
    """What a checkout weighs of the reader, read in one statement: what they owe, their open
    loans, and those of one item type."""

    owed: int
    loans: int
    loans_of_type: int


def reader_load(session: Session, *, reader_id: int, item_type: str) -> ReaderLoad:
    open_loans = select(func.count(Loan.id)).where(
        Loan.reader_id == reader_id, Loan.returned_at.is_(None)
    )
    owed = select(
        func.coalesce(func.sum(Fine.amount_cents - Fine.paid_cents - Fine.waived_cents), 0)
    ).where(Fine.reader_id == reader_id, Fine.closed.is_(False))
    row = session.execute(
        select(
            owed.scalar_subquery(),
            open_loans.scalar_subquery(),
            open_loans.where(Loan.item_type == item_type).scalar_subquery(),
        )
    ).one()
    return ReaderLoad(owed=int(row[0] or 0), loans=int(row[1] or 0), loans_of_type=int(row[2] or 0))


@dataclass(frozen=True)
class ItemClaims:
    """Who else has a claim on a copy, read in one statement: an open loan, a waiting hold on
    this very copy by another reader."""

    on_loan: bool
    held_for_another: bool


def item_claims(session: Session, *, item_id: int, reader_id: int) -> ItemClaims:
    on_loan = select(Loan.id).where(Loan.item_id == item_id, Loan.returned_at.is_(None))
    held = select(Hold.id).where(
        Hold.item_id == item_id, Hold.status == HoldStatus.WAITING, Hold.reader_id != reader_id
    )
    row = session.execute(select(on_loan.exists(), held.exists())).one()
    return ItemClaims(on_loan=bool(row[0]), held_for_another=bool(row[1]))


def loan_read(
    loan: Loan, *, barcode: str, title: str, now: datetime, fine_cents: int = 0
) -> LoanRead:
    terms = Terms.from_json(loan.terms)
    return LoanRead(
        id=loan.id,
        barcode=barcode,
        record_id=loan.record_id,
        title=title,
        branch=loan.branch_code,
        out_at=loan.out_at,
        due_at=loan.due_at,
        renewals=loan.renewals,
        renewals_left=max(terms.renewals - loan.renewals, 0),
        overdue=loan.returned_at is None and now > loan.due_at,
        returned_at=loan.returned_at,
        fine_cents=fine_cents,
        terms=loan.terms,
        event_seq=loan.event_seq,
    )


def open_loan_of_item(session: Session, item_id: int) -> Loan | None:
    return session.scalars(
        select(Loan).where(Loan.item_id == item_id, Loan.returned_at.is_(None))
    ).first()


def open_loans(session: Session, reader_id: int) -> list[Loan]:
    """The reader's loans not yet returned, soonest due first."""
    return list(
        session.scalars(
            select(Loan)
            .where(Loan.reader_id == reader_id, Loan.returned_at.is_(None))
            .order_by(Loan.due_at)
        )
    )


def open_transit(session: Session, item_id: int) -> Transit | None:
    return session.scalars(
        select(Transit).where(Transit.item_id == item_id, Transit.received_at.is_(None))
    ).first()
