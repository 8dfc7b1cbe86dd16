"""Demo circulation: a few weeks of a library's life on the demo data, made through the real
circulation service (so every loan, hold, transit and fine is an event in the ledger).

Some readers have books out (one of them overdue, with its fine accruing), some wait in a hold
queue, a copy returned at another branch is on its way home, and a hold waits on a hold shelf.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from shulian.accounts import service as accounts_service
from shulian.catalog import service as catalog_service
from shulian.catalog.schemas import ItemStatus
from shulian.circulation import service as circulation_service
from shulian.consortium import service as consortium_service
from shulian.consortium.schemas import BranchKind
from shulian.core.errors import ShulianError

ACTOR = "system:demo"


def load(session: Session, *, now: datetime) -> int:
    """Lend, hold and return on the demo library (once). Returns how many loans were made."""
    readers = [accounts_service.find_reader_by_card(session, f"R{i:04d}") for i in range(1, 9)]
    if circulation_service.reader_account(session, reader_id=readers[0].id, now=now).loans:
        return 0
    copies = catalog_service.copies_in_status(
        session, catalog_service.published_ids(session, limit=60), status=ItemStatus.AVAILABLE
    )
    by_record: dict[int, list[catalog_service.CopyRow]] = {}
    for c in copies:
        by_record.setdefault(c.record_id, []).append(c)
    singles = [cs[0] for cs in by_record.values() if len(cs) == 1]
    plenty = [c for cs in by_record.values() if len(cs) > 1 for c in cs[:1]]
    loans = 0

    def lend(reader: int, copy: catalog_service.CopyRow, when: datetime) -> bool:
        nonlocal loans
        try:
            with session.begin_nested():
                circulation_service.check_out(
                    session,
                    reader_id=reader,
                    barcode=copy.barcode,
                    branch=copy.branch_code,
                    actor=ACTOR,
                    now=when,
                )
        except ShulianError:
            return False
        loans += 1
        return True

    # Six readers with two books each, lent over the last three weeks.
    pool = singles[:4] + plenty + singles[4:]
    for i, reader in enumerate(readers[:6]):
        for copy in pool[2 * i : 2 * i + 2]:
            lend(reader.id, copy, now - timedelta(days=20 - 3 * i))
    # One loan long overdue: lent 45 days ago; its fine accrues daily.
    if len(pool) > 13:
        lend(readers[6].id, pool[12], now - timedelta(days=45))
        circulation_service.accrue_fines(session, now=now, actor=ACTOR)
    # Holds on titles whose only copy is out: readers 7 and 8 queue for the first one.
    lent_singles = [c for c in singles if c in pool[:12]]
    for reader in readers[6:8]:
        for copy in lent_singles[:1]:
            try:
                with session.begin_nested():
                    circulation_service.place_hold(
                        session,
                        reader_id=reader.id,
                        record_id=copy.record_id,
                        pickup_branch=copy.branch_code,
                        actor=f"reader:{reader.id}",
                        now=now - timedelta(days=2),
                    )
            except ShulianError:
                pass
    # A book returned today away from home travels back; a held one waits on the hold shelf.
    if len(pool) > 4:
        back = pool[4]
        elsewhere = next((b for b in _branch_codes(session) if b != back.branch_code), None)
        if elsewhere:
            circulation_service.check_in(
                session, barcode=back.barcode, branch=elsewhere, actor=ACTOR, now=now
            )
    if lent_singles:
        first = lent_singles[0]
        circulation_service.check_in(
            session, barcode=first.barcode, branch=first.branch_code, actor=ACTOR, now=now
        )
    return loans


def _branch_codes(session: Session) -> list[str]:
    """Branches with a desk (delivery points take no returns)."""
    return [
        b.code
        for b in consortium_service.list_branches(session)
        if b.kind is not BranchKind.DELIVERY_POINT
    ]
