"""The reader's side: "my library" (loans, holds, fines, blocks), reading history (opt-in) and
its removal, preferences, due-date notices, and the transit lists desks work from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shulian.accounts import service as accounts_service
from shulian.catalog import service as catalog_service
from shulian.circulation import policy
from shulian.circulation.errors import LoanNotFound
from shulian.circulation.models import Fine, Loan, ReaderPreference, Transit
from shulian.circulation.schemas import (
    AccountRead,
    HistoryRead,
    LoanRead,
    PreferencesRead,
    PreferencesUpdate,
    TransitRead,
)
from shulian.circulation.service import fines, holds
from shulian.circulation.service.common import (
    balance,
    blocks,
    emit,
    library_tz,
    loan_read,
    loan_state,
    open_loans,
    option,
)
from shulian.consortium import service as consortium_service
from shulian.core.errors import ShulianError
from shulian.ledger import service as ledger_service
from shulian.ledger.schemas import EventReceipt
from shulian.notify import service as notify_service
from shulian.notify.schemas import NoticePreferencesUpdate


def _loan_reads(session: Session, loans: list[Loan], now: datetime) -> list[LoanRead]:
    items = catalog_service.items_by_id(session, [ln.item_id for ln in loans])
    titles = catalog_service.titles_of(session, [ln.record_id for ln in loans])
    return [
        loan_read(
            ln,
            barcode=items[ln.item_id].barcode if ln.item_id in items else "",
            title=titles.get(ln.record_id, ""),
            now=now,
            fine_cents=fines.overdue_fine(session, ln, until=now) if ln.returned_at is None else 0,
        )
        for ln in loans
    ]


def preferences(session: Session, reader_id: int) -> ReaderPreference:
    pref = session.get(ReaderPreference, reader_id)
    if pref is None:
        pref = ReaderPreference(
            reader_id=reader_id,
            keep_history=False,
            updated_at=datetime(1970, 1, 1, tzinfo=UTC),  # never saved: set on update
        )
    return pref


def reader_account(session: Session, *, reader_id: int, now: datetime) -> AccountRead:
    """Everything "my library" shows. Raises: ReaderNotFound."""
    accounts_service.get_reader(session, reader_id)
    loans = open_loans(session, reader_id)
    open_fines = list(
        session.scalars(
            select(Fine)
            .where(Fine.reader_id == reader_id, Fine.closed.is_(False))
            .order_by(Fine.created_at)
        )
    )
    found = reader_blocks(session, reader_id=reader_id, now=now)
    return AccountRead(
        reader_id=reader_id,
        loans=_loan_reads(session, loans, now),
        holds=holds.reader_holds(session, reader_id),
        fines=fines.fine_reads(session, open_fines),
        balance_cents=balance(session, reader_id),
        blocks=[e.detail for e in found],
        keep_history=preferences(session, reader_id).keep_history,
    )


def reader_blocks(session: Session, *, reader_id: int, now: datetime) -> list[ShulianError]:
    """Why the reader may not borrow now, as the domain errors a checkout would raise (pages
    show them in the reader's language; ``reader_account`` gives their English details).

    Raises: ReaderNotFound."""
    reader = accounts_service.get_reader(session, reader_id)
    rule = policy.applicable(
        session, category=reader.category_code, item_type=None, branch=_home(session, reader_id)
    )
    return blocks(session, reader_id=reader_id, max_fines_cents=rule.max_fines_cents, now=now)


def _home(session: Session, reader_id: int) -> str:
    reader = accounts_service.get_reader(session, reader_id)
    return consortium_service.get_branch(session, reader.home_branch_id).code


def reading_history(
    session: Session, *, reader_id: int, now: datetime, limit: int = 200
) -> HistoryRead:
    """Returned loans still linked to the reader (all of them when history is kept, otherwise
    only those returned within the retention days)."""
    loans = list(
        session.scalars(
            select(Loan)
            .where(Loan.reader_id == reader_id, Loan.returned_at.is_not(None))
            .order_by(Loan.returned_at.desc())
            .limit(limit)
        )
    )
    return HistoryRead(loans=_loan_reads(session, loans, now))


def set_preferences(
    session: Session, *, reader_id: int, data: PreferencesUpdate, actor: str, now: datetime
) -> PreferencesRead:
    """Keep or stop keeping the reading history; the notice channels given here are passed on
    to the notice outbox (where readers also set them directly). Raises: ReaderNotFound."""
    accounts_service.get_reader(session, reader_id)
    if data.keep_history is not None:
        pref = session.get(ReaderPreference, reader_id)
        if pref is None:
            pref = preferences(session, reader_id)
            session.add(pref)
        pref.keep_history = data.keep_history
        pref.updated_at = now
        session.flush()
        emit(
            session,
            type="circulation.preferences.updated",
            now=now,
            actor=actor,
            branch=None,
            subject=f"reader:{reader_id}",
            payload={"keep_history": pref.keep_history},
        )
    if data.notify_email is not None or data.notify_webhook is not None:
        notices = notify_service.set_preferences(
            session,
            reader_id=reader_id,
            data=NoticePreferencesUpdate(email=data.notify_email, webhook=data.notify_webhook),
            actor=actor,
            now=now,
        )
    else:
        notices = notify_service.preferences(session, reader_id)
    return PreferencesRead(
        keep_history=preferences(session, reader_id).keep_history,
        notify_email=notices.email,
        notify_webhook=notices.webhook,
    )


def anonymise_history(session: Session, *, now: datetime, actor: str = "system") -> int:
    """Unlink readers from loans returned more than ``history_days`` ago, except for readers who
    keep a reading history. A loan with an unpaid fine stays linked until the fine is settled.
    Returns how many loans were unlinked."""
    cutoff = now - timedelta(days=int(option(session, "history_days")))
    keepers = select(ReaderPreference.reader_id).where(ReaderPreference.keep_history.is_(True))
    owing = select(Fine.loan_id).where(Fine.closed.is_(False), Fine.loan_id.is_not(None))
    loans = list(
        session.scalars(
            select(Loan)
            .where(
                Loan.returned_at.is_not(None),
                Loan.returned_at < cutoff,
                Loan.reader_id.is_not(None),
                Loan.reader_id.not_in(keepers),
                Loan.id.not_in(owing),
            )
            .order_by(Loan.id)
        )
    )
    for loan in loans:
        loan.reader_id = None
    session.flush()
    if loans:
        emit(
            session,
            type="circulation.history.anonymised",
            now=now,
            actor=actor,
            branch=None,
            subject="loans",
            payload={
                "loans": len(loans),
                "returned_before": cutoff.isoformat(),
                # The unlinked loans' new states, so the audit can tell this from tampering.
                "states": {f"loan:{loan.id}": loan_state(loan) for loan in loans},
            },
        )
    return len(loans)


def queue_due_notices(session: Session, *, now: datetime) -> int:
    """Queue "due soon" notices for loans due within ``due_soon_days`` and "overdue" notices for
    loans past due (one per loan per due date, so a renewal earns a new one). Returns how many
    notices were queued."""
    tz = library_tz(session)
    soon = now + timedelta(days=int(option(session, "due_soon_days")))
    loans = list(
        session.scalars(
            select(Loan).where(
                Loan.returned_at.is_(None), Loan.due_at <= soon, Loan.reader_id.is_not(None)
            )
        )
    )
    titles = catalog_service.titles_of(session, [ln.record_id for ln in loans])
    queued = 0
    for ln in loans:
        assert ln.reader_id is not None
        kind = "overdue" if ln.due_at < now else "due_soon"
        due_day = policy.local_date(ln.due_at, tz).isoformat()
        queued += len(
            notify_service.enqueue(
                session,
                reader_id=ln.reader_id,
                kind=kind,
                key=f"{kind}:loan:{ln.id}:{due_day}",
                context={"title": titles.get(ln.record_id, ""), "due": due_day},
                now=now,
            )
        )
    return queued


def transits(
    session: Session, *, branch: str, direction: str = "incoming", include_received: bool = False
) -> list[TransitRead]:
    """Items on their way to (``incoming``) or from (``outgoing``) a branch."""
    col = Transit.to_branch if direction == "incoming" else Transit.from_branch
    stmt = select(Transit).where(col == branch)
    if not include_received:
        stmt = stmt.where(Transit.received_at.is_(None))
    rows = list(session.scalars(stmt.order_by(Transit.sent_at).limit(1000)))
    items = catalog_service.items_by_id(session, [t.item_id for t in rows])
    titles = catalog_service.titles_of(session, [it.record_id for it in items.values()])
    return [
        TransitRead(
            id=t.id,
            barcode=items[t.item_id].barcode,
            title=titles.get(items[t.item_id].record_id, ""),
            from_branch=t.from_branch,
            to_branch=t.to_branch,
            reason=t.reason,
            sent_at=t.sent_at,
            received_at=t.received_at,
        )
        for t in rows
    ]


def loan_receipt(session: Session, *, loan_id: int, reader_id: int) -> EventReceipt:
    """The ledger receipt of a reader's loan: its checkout event as a leaf (terms included,
    the reader under a pseudonym), the inclusion proof and the signed checkpoint, so the reader
    can later prove the loan and its terms without trusting the library.

    Raises: LoanNotFound (also for another reader's loan), EventNotInLedger,
    NotYetCheckpointed."""
    loan = session.get(Loan, loan_id)
    if loan is None or loan.reader_id != reader_id or loan.event_seq is None:
        raise LoanNotFound(loan_id)
    return ledger_service.event_receipt(session, seq=loan.event_seq)


def loan_counts(session: Session, record_ids: list[int]) -> dict[int, int]:
    """How often each record has been lent (search's "most borrowed"); anonymised loans count."""
    out: dict[int, int] = {}
    for i in range(0, len(record_ids), 900):
        chunk = record_ids[i : i + 900]
        rows = session.execute(
            select(Loan.record_id, func.count(Loan.id))
            .where(Loan.record_id.in_(chunk))
            .group_by(Loan.record_id)
        )
        out.update({rid: int(n) for rid, n in rows})
    return out
