"""Holds: the queue per title, trapping returned copies, the hold shelf, pick lists, expiry."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from shulian.accounts import service as accounts_service
from shulian.catalog import service as catalog_service
from shulian.catalog.schemas import ItemStatus
from shulian.circulation import policy
from shulian.circulation.errors import (
    AlreadyHeld,
    HoldClosed,
    HoldLimitReached,
    HoldNotFound,
    HoldOnOwnLoan,
    NothingToHold,
    NotYourHold,
)
from shulian.circulation.models import OPEN_HOLD_STATES, Hold, Loan, Transit, TransitTime
from shulian.circulation.schemas import HoldRead, HoldShelfRead, PickRead
from shulian.circulation.service.common import (
    check_standing,
    emit,
    hold_state,
    library_tz,
    option,
    reader_ref,
)
from shulian.circulation.types import HoldStatus, TransitReason
from shulian.consortium import service as consortium_service
from shulian.notify import service as notify_service


def get_hold(session: Session, hold_id: int) -> Hold:
    hold = session.get(Hold, hold_id, with_for_update=True)
    if hold is None:
        raise HoldNotFound(hold_id)
    return hold


def queue_position(session: Session, hold: Hold) -> int | None:
    """1 for the next reader served; None once the hold is no longer waiting."""
    if hold.status is not HoldStatus.WAITING:
        return None
    ahead = session.scalar(
        select(func.count(Hold.id)).where(
            Hold.record_id == hold.record_id,
            Hold.status == HoldStatus.WAITING,
            or_(
                Hold.placed_at < hold.placed_at,
                (Hold.placed_at == hold.placed_at) & (Hold.id < hold.id),
            ),
        )
    )
    return int(ahead or 0) + 1


def hold_reads(session: Session, holds: list[Hold]) -> list[HoldRead]:
    titles = catalog_service.titles_of(session, [h.record_id for h in holds])
    item_ids = [i for h in holds for i in (h.item_id, h.trapped_item_id) if i is not None]
    items = catalog_service.items_by_id(session, item_ids)
    out = []
    for h in holds:
        shown = items.get(h.trapped_item_id or h.item_id or 0)
        out.append(
            HoldRead(
                id=h.id,
                record_id=h.record_id,
                title=titles.get(h.record_id, ""),
                barcode=shown.barcode if shown else None,
                pickup_branch=h.pickup_branch,
                status=h.status,
                position=queue_position(session, h),
                placed_at=h.placed_at,
                ready_at=h.ready_at,
                expires_at=h.expires_at,
            )
        )
    return out


def place_hold(
    session: Session,
    *,
    reader_id: int,
    pickup_branch: str,
    actor: str,
    now: datetime,
    record_id: int | None = None,
    barcode: str | None = None,
) -> HoldRead:
    """Put the reader in the queue for a title (any copy) or for one copy (``barcode``).

    Raises: ReaderNotFound, BranchNotFound, RecordNotFound, ItemNotFound, ReaderBlocked,
    CardExpired, FinesOverLimit, NothingToHold, AlreadyHeld, HoldOnOwnLoan, HoldLimitReached.
    """
    reader = accounts_service.get_reader(session, reader_id)
    branch = consortium_service.get_branch_by_code(session, pickup_branch).code
    item_id = None
    if barcode is not None:
        item = catalog_service.get_item(session, barcode)
        record_id, item_id = item.record_id, item.id
    assert record_id is not None
    catalog_service.get_record(session, record_id, published_only=True)
    rule = policy.applicable(session, category=reader.category_code, item_type=None, branch=branch)
    check_standing(session, reader_id=reader_id, max_fines_cents=rule.max_fines_cents, now=now)
    if catalog_service.lendable_count(session, record_id) == 0:
        raise NothingToHold(record_id)
    mine = select(Hold.id).where(Hold.reader_id == reader_id, Hold.status.in_(OPEN_HOLD_STATES))
    if session.scalars(mine.where(Hold.record_id == record_id)).first():
        raise AlreadyHeld(record_id)
    on_loan = select(Loan.id).where(
        Loan.reader_id == reader_id, Loan.record_id == record_id, Loan.returned_at.is_(None)
    )
    if session.scalars(on_loan).first():
        raise HoldOnOwnLoan(record_id)
    held = session.scalar(select(func.count()).select_from(mine.subquery())) or 0
    if held >= rule.max_holds:
        raise HoldLimitReached(rule.max_holds)
    hold = Hold(
        record_id=record_id,
        item_id=item_id,
        reader_id=reader_id,
        pickup_branch=branch,
        status=HoldStatus.WAITING,
        placed_at=now,
    )
    session.add(hold)
    session.flush()
    emit(
        session,
        type="circulation.hold.placed",
        now=now,
        actor=actor,
        branch=branch,
        subject=f"hold:{hold.id}",
        payload={
            "hold": hold.id,
            "record": record_id,
            "item": item_id,
            "reader": reader_ref(reader_id),
            "states": {f"hold:{hold.id}": hold_state(hold)},
        },
    )
    return hold_reads(session, [hold])[0]


def cancel_hold(
    session: Session, *, hold_id: int, reader_id: int | None, actor: str, now: datetime
) -> HoldRead:
    """Cancel a hold (``reader_id`` set: only the reader's own). A copy waiting on the hold
    shelf passes to the next reader in the queue, or goes back. A copy in transit for it is
    routed afresh when it arrives.

    Raises: HoldNotFound, NotYourHold, HoldClosed."""
    hold = get_hold(session, hold_id)
    if reader_id is not None and hold.reader_id != reader_id:
        raise NotYourHold(hold_id)
    if hold.status not in OPEN_HOLD_STATES:
        raise HoldClosed(hold_id, hold.status.value)
    was_ready = hold.status is HoldStatus.READY
    _close(session, hold, HoldStatus.CANCELLED, actor=actor, now=now)
    if was_ready and hold.trapped_item_id is not None:
        item = catalog_service.items_by_id(session, [hold.trapped_item_id])[hold.trapped_item_id]
        route(session, item, at_branch=hold.pickup_branch, actor=actor, now=now)
    return hold_reads(session, [hold])[0]


def _close(session: Session, hold: Hold, status: HoldStatus, *, actor: str, now: datetime) -> None:
    hold.status = status
    hold.closed_at = now
    session.flush()
    emit(
        session,
        type=f"circulation.hold.{status.value}",
        now=now,
        actor=actor,
        branch=hold.pickup_branch,
        subject=f"hold:{hold.id}",
        payload={
            "hold": hold.id,
            "record": hold.record_id,
            "reader": reader_ref(hold.reader_id),
            "states": {f"hold:{hold.id}": hold_state(hold)},
        },
    )


def fulfil(session: Session, *, reader_id: int, record_id: int, actor: str, now: datetime) -> None:
    """The reader borrowed the title: their open hold on it is done."""
    for hold in session.scalars(
        select(Hold).where(
            Hold.reader_id == reader_id,
            Hold.record_id == record_id,
            Hold.status.in_(OPEN_HOLD_STATES),
        )
    ):
        _close(session, hold, HoldStatus.FULFILLED, actor=actor, now=now)


def next_hold_for(session: Session, item: catalog_service.Item) -> Hold | None:
    """The first waiting hold in the title's queue that this copy can fill."""
    return session.scalars(
        select(Hold)
        .where(
            Hold.record_id == item.record_id,
            Hold.status == HoldStatus.WAITING,
            or_(Hold.item_id.is_(None), Hold.item_id == item.id),
        )
        .order_by(Hold.placed_at, Hold.id)
    ).first()


def waiting_for(session: Session, item: catalog_service.Item) -> int:
    return int(
        session.scalar(
            select(func.count(Hold.id)).where(
                Hold.record_id == item.record_id,
                Hold.status == HoldStatus.WAITING,
                or_(Hold.item_id.is_(None), Hold.item_id == item.id),
            )
        )
        or 0
    )


def _shelf_expiry(
    session: Session, hold: Hold, item: catalog_service.Item, now: datetime
) -> datetime:
    reader = accounts_service.get_reader(session, hold.reader_id) if hold.reader_id else None
    rule = policy.applicable(
        session,
        category=reader.category_code if reader else "",
        item_type=item.item_type,
        branch=hold.pickup_branch,
    )
    tz = library_tz(session)
    return policy.due_at(
        session, start=now, days=rule.hold_shelf_days, hours=None, branch=hold.pickup_branch, tz=tz
    )


def make_ready(
    session: Session, hold: Hold, item: catalog_service.Item, *, actor: str, now: datetime
) -> str:
    """Put the copy on the pickup branch's hold shelf for the hold and tell the reader."""
    hold.status = HoldStatus.READY
    hold.trapped_item_id = item.id
    hold.ready_at = now
    hold.expires_at = _shelf_expiry(session, hold, item, now)
    item_digest = catalog_service.set_item_status(session, item, ItemStatus.ON_HOLD_SHELF, now=now)
    emit(
        session,
        type="circulation.hold.ready",
        now=now,
        actor=actor,
        branch=hold.pickup_branch,
        subject=f"hold:{hold.id}",
        payload={
            "hold": hold.id,
            "record": hold.record_id,
            "item": item.id,
            "reader": reader_ref(hold.reader_id),
            "states": {f"hold:{hold.id}": hold_state(hold), f"item:{item.id}": item_digest},
        },
    )
    if hold.reader_id is not None:
        title = catalog_service.title_of(session, hold.record_id)
        notify_service.enqueue(
            session,
            reader_id=hold.reader_id,
            kind="hold_ready",
            key=f"hold_ready:hold:{hold.id}",
            context={
                "title": title,
                "branch": hold.pickup_branch,
                "expires": hold.expires_at.isoformat() if hold.expires_at else None,
            },
            now=now,
        )
    return item_digest


def send(
    session: Session,
    item: catalog_service.Item,
    *,
    to_branch: str,
    from_branch: str,
    reason: TransitReason,
    hold: Hold | None,
    actor: str,
    now: datetime,
) -> None:
    transit = Transit(
        item_id=item.id,
        from_branch=from_branch,
        to_branch=to_branch,
        reason=reason,
        hold_id=hold.id if hold else None,
        sent_at=now,
    )
    session.add(transit)
    if hold is not None:
        hold.status = HoldStatus.IN_TRANSIT
        hold.trapped_item_id = item.id
    session.flush()
    states = {
        f"item:{item.id}": catalog_service.set_item_status(
            session, item, ItemStatus.IN_TRANSIT, now=now
        )
    }
    if hold is not None:
        states[f"hold:{hold.id}"] = hold_state(hold)
    emit(
        session,
        type="circulation.transit.sent",
        now=now,
        actor=actor,
        branch=from_branch,
        subject=f"transit:{transit.id}",
        payload={
            "transit": transit.id,
            "item": item.id,
            "record": item.record_id,
            "to": to_branch,
            "reason": reason.value,
            "hold": transit.hold_id,
            "states": states,
        },
    )


def route(
    session: Session, item: catalog_service.Item, *, at_branch: str, actor: str, now: datetime
) -> tuple[str, str | None, int | None]:
    """Decide where a copy at ``at_branch`` goes now: the first hold it can fill (its hold shelf
    here, or in transit to the pickup branch), else home (transit), else the shelf.
    Returns (destination, to_branch, hold_id)."""
    hold = next_hold_for(session, item)
    if hold is not None:
        if hold.pickup_branch == at_branch:
            make_ready(session, hold, item, actor=actor, now=now)
            return "hold_shelf", at_branch, hold.id
        send(
            session,
            item,
            to_branch=hold.pickup_branch,
            from_branch=at_branch,
            reason=TransitReason.HOLD,
            hold=hold,
            actor=actor,
            now=now,
        )
        return "transit", hold.pickup_branch, hold.id
    if item.branch_code != at_branch:
        send(
            session,
            item,
            to_branch=item.branch_code,
            from_branch=at_branch,
            reason=TransitReason.RETURN_HOME,
            hold=None,
            actor=actor,
            now=now,
        )
        return "transit", item.branch_code, None
    catalog_service.set_item_status(session, item, ItemStatus.AVAILABLE, now=now)
    return "shelf", None, None


def expire_holds(session: Session, *, now: datetime, actor: str = "system") -> int:
    """Holds left on the hold shelf past their day expire; each copy passes to the next reader
    or goes back. Returns how many expired."""
    due = list(
        session.scalars(
            select(Hold)
            .where(Hold.status == HoldStatus.READY, Hold.expires_at < now)
            .order_by(Hold.expires_at, Hold.id)
            .with_for_update()  # a desk collecting or cancelling one waits, then sees it closed
        )
    )
    for hold in due:
        _close(session, hold, HoldStatus.EXPIRED, actor=actor, now=now)
        if hold.trapped_item_id is not None:
            item = catalog_service.lock_item(
                session,
                catalog_service.items_by_id(session, [hold.trapped_item_id])[
                    hold.trapped_item_id
                ].barcode,
            )
            if item.status is ItemStatus.ON_HOLD_SHELF:
                route(session, item, at_branch=hold.pickup_branch, actor=actor, now=now)
    return len(due)


# -- pick lists -----------------------------------------------------------------------------------


def transit_hours(session: Session) -> tuple[dict[tuple[str, str], int], int]:
    table = {(t.from_branch, t.to_branch): t.hours for t in session.scalars(select(TransitTime))}
    return table, int(option(session, "default_transit_hours"))


def pick_list(session: Session, *, branch: str | None = None, now: datetime) -> list[PickRead]:
    """Copies to pull from the shelves for waiting holds, each copy for one hold at most.

    Holds are served in queue order (placed first, served first); each takes the available copy
    that reaches its pickup branch soonest: one at the pickup branch itself, else the shortest
    configured transit time (unlisted routes take the ``default_transit_hours`` option). With
    ``branch`` only that branch's pulls are returned (the list is computed for all, so a copy
    is never promised to two holds)."""
    del now  # the list depends on the state of the shelves only; kept for a future cut-off
    rows = session.execute(
        select(Hold.id, Hold.record_id, Hold.item_id, Hold.pickup_branch, Hold.placed_at)
        .where(Hold.status == HoldStatus.WAITING)
        .order_by(Hold.placed_at, Hold.id)
    ).all()
    if not rows:
        return []
    copies = catalog_service.copies_in_status(
        session, sorted({r.record_id for r in rows}), status=ItemStatus.AVAILABLE
    )
    by_record: dict[int, list[catalog_service.CopyRow]] = defaultdict(list)
    for c in copies:
        by_record[c.record_id].append(c)
    hours, default = transit_hours(session)
    taken: set[int] = set()
    picks: list[tuple[int, catalog_service.CopyRow, str, datetime]] = []
    for hold_id, record_id, item_id, pickup, placed_at in rows:
        best: catalog_service.CopyRow | None = None
        best_cost = 0
        for c in by_record.get(record_id, ()):
            if c.item_id in taken or (item_id is not None and c.item_id != item_id):
                continue
            cost = 0 if c.branch_code == pickup else hours.get((c.branch_code, pickup), default)
            if best is None or cost < best_cost:
                best, best_cost = c, cost
                if cost == 0:
                    break
        if best is not None:
            taken.add(best.item_id)
            if branch is None or best.branch_code == branch:
                picks.append((hold_id, best, pickup, placed_at))
    titles = catalog_service.titles_of(session, {p[1].record_id for p in picks})
    return sorted(
        (
            PickRead.model_construct(
                hold_id=hold_id,
                barcode=c.barcode,
                record_id=c.record_id,
                title=titles.get(c.record_id, ""),
                branch=c.branch_code,
                location=c.location,
                call_number=c.call_number,
                pickup_branch=pickup,
                placed_at=placed_at,
            )
            for hold_id, c, pickup, placed_at in picks
        ),
        key=lambda p: (p.branch, p.location, p.call_number or "", p.barcode),
    )


def hold_shelf(session: Session, *, branch: str) -> list[HoldShelfRead]:
    """What waits on a branch's hold shelf, oldest first, found by the card's last digits."""
    holds = list(
        session.scalars(
            select(Hold)
            .where(Hold.pickup_branch == branch, Hold.status == HoldStatus.READY)
            .order_by(Hold.ready_at, Hold.id)
        )
    )
    items = catalog_service.items_by_id(session, [h.trapped_item_id or 0 for h in holds])
    titles = catalog_service.titles_of(session, [h.record_id for h in holds])
    out = []
    for h in holds:
        card = ""
        if h.reader_id is not None:
            card = accounts_service.get_reader(session, h.reader_id).card_number[-4:]
        item = items.get(h.trapped_item_id or 0)
        out.append(
            HoldShelfRead(
                hold_id=h.id,
                barcode=item.barcode if item else "",
                title=titles.get(h.record_id, ""),
                card_tail=card,
                ready_at=h.ready_at,
                expires_at=h.expires_at,
            )
        )
    return out


def reader_holds(session: Session, reader_id: int) -> list[HoldRead]:
    holds = list(
        session.scalars(
            select(Hold)
            .where(Hold.reader_id == reader_id, Hold.status.in_(OPEN_HOLD_STATES))
            .order_by(Hold.placed_at)
        )
    )
    return hold_reads(session, holds)
