"""Operations on the library network. Callers own the transaction; nothing here commits."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import Date, Integer, delete, literal, select, union_all
from sqlalchemy.orm import Session

from shulian.consortium.errors import (
    BranchCodeTaken,
    BranchNotFound,
    ClosedDayNotFound,
    InvalidBranchTree,
    InvalidOpeningHours,
)
from shulian.consortium.models import Branch, ClosedDay, OpeningHours
from shulian.consortium.schemas import (
    BranchCreate,
    BranchNode,
    BranchRead,
    BranchUpdate,
    CalendarRead,
    ClosedDayCreate,
    ClosedDayRead,
    DayHours,
    WeeklyHours,
)
from shulian.consortium.types import BranchKind
from shulian.core import events
from shulian.core.db import transaction_cache

# Furthest a due date may be pushed past closed days before we call the calendar broken.
MAX_CLOSED_RUN = 366


def get_branch(session: Session, branch_id: int) -> Branch:
    branch = session.get(Branch, branch_id)
    if branch is None:
        raise BranchNotFound(str(branch_id))
    # Remembered by code too: a desk's branch is found by id (the staff member's), then by code.
    transaction_cache(session).setdefault("branches", {})[branch.code] = branch
    return branch


def get_branch_by_code(session: Session, code: str) -> Branch:
    """Raises: BranchNotFound. A unit of work asks this several times for one branch (a
    checkout: the desk's branch, then its calendar): after the first, it is remembered for the
    rest of the transaction (the session's identity map holds objects only weakly)."""
    key = code.strip().upper()
    known: dict[str, Branch] = transaction_cache(session).setdefault("branches", {})
    found = known.get(key)
    if found is not None and found.code == key and found in session:
        return found
    branch = session.scalars(select(Branch).where(Branch.code == key)).first()
    if branch is None:
        raise BranchNotFound(code)
    known[key] = branch
    return branch


def list_branches(session: Session, *, include_inactive: bool = False) -> list[Branch]:
    stmt = select(Branch).order_by(Branch.code)
    if not include_inactive:
        stmt = stmt.where(Branch.active.is_(True))
    return list(session.scalars(stmt))


def create_branch(session: Session, *, data: BranchCreate, actor: str, now: datetime) -> Branch:
    """Add a place to the network.

    A central library has no parent; every other place hangs under an existing one.
    Raises: BranchCodeTaken, BranchNotFound (parent), InvalidBranchTree.
    """
    if session.scalars(select(Branch.id).where(Branch.code == data.code)).first() is not None:
        raise BranchCodeTaken(data.code)
    parent_id = None
    if data.kind is BranchKind.CENTRAL:
        if data.parent_code:
            raise InvalidBranchTree("a central library has no parent")
    else:
        if not data.parent_code:
            raise InvalidBranchTree(f"a {data.kind.value} needs a parent branch")
        parent = get_branch_by_code(session, data.parent_code)
        if parent.kind is BranchKind.DELIVERY_POINT:
            raise InvalidBranchTree("a delivery point cannot have places under it")
        parent_id = parent.id
    branch = Branch(
        code=data.code,
        name_zh=data.name_zh,
        name_en=data.name_en,
        kind=data.kind,
        parent_id=parent_id,
        address=data.address,
        phone=data.phone,
        active=True,
        created_at=now,
    )
    session.add(branch)
    session.flush()
    events.record(
        session,
        type="consortium.branch_created",
        now=now,
        actor=actor,
        branch=branch.code,
        subject=f"branch:{branch.code}",
        payload={"kind": branch.kind.value, "parent_id": parent_id, "name_zh": branch.name_zh},
    )
    return branch


def update_branch(
    session: Session, *, code: str, data: BranchUpdate, actor: str, now: datetime
) -> Branch:
    """Raises: BranchNotFound."""
    branch = get_branch_by_code(session, code)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    for key, value in changes.items():
        setattr(branch, key, value)
    session.flush()
    events.record(
        session,
        type="consortium.branch_updated",
        now=now,
        actor=actor,
        branch=branch.code,
        subject=f"branch:{branch.code}",
        payload=changes,
    )
    return branch


def branch_tree(session: Session) -> list[BranchNode]:
    """The network as a forest of central libraries with their places, sorted by code."""
    branches = list_branches(session)
    nodes = {b.id: BranchNode(branch=BranchRead.model_validate(b)) for b in branches}
    roots: list[BranchNode] = []
    for b in branches:
        node = nodes[b.id]
        parent = nodes.get(b.parent_id) if b.parent_id is not None else None
        (parent.children if parent is not None else roots).append(node)
    return roots


def set_opening_hours(
    session: Session, *, code: str, hours: WeeklyHours, actor: str, now: datetime
) -> list[OpeningHours]:
    """Replace a branch's weekly hours. Weekdays left out are closed.

    Raises: BranchNotFound, InvalidOpeningHours (closing before opening, a weekday twice).
    """
    branch = get_branch_by_code(session, code)
    seen: set[int] = set()
    for day in hours.days:
        if day.weekday in seen:
            raise InvalidOpeningHours(day.weekday, "given twice")
        if day.closes <= day.opens:
            raise InvalidOpeningHours(day.weekday, "closes before it opens")
        seen.add(day.weekday)
    session.execute(delete(OpeningHours).where(OpeningHours.branch_id == branch.id))
    rows = [
        OpeningHours(branch_id=branch.id, weekday=d.weekday, opens=d.opens, closes=d.closes)
        for d in sorted(hours.days, key=lambda d: d.weekday)
    ]
    session.add_all(rows)
    session.flush()
    events.record(
        session,
        type="consortium.hours_set",
        now=now,
        actor=actor,
        branch=branch.code,
        subject=f"branch:{branch.code}",
        payload={"days": [d.model_dump() for d in hours.days]},
    )
    return rows


def add_closed_day(
    session: Session, *, code: str, data: ClosedDayCreate, actor: str, now: datetime
) -> ClosedDay:
    """Mark a day closed; marking it again updates the reason. Raises: BranchNotFound."""
    branch = get_branch_by_code(session, code)
    row = session.scalars(
        select(ClosedDay).where(ClosedDay.branch_id == branch.id, ClosedDay.day == data.day)
    ).first()
    if row is None:
        row = ClosedDay(branch_id=branch.id, day=data.day, reason=data.reason)
        session.add(row)
    else:
        row.reason = data.reason
    session.flush()
    events.record(
        session,
        type="consortium.closed_day_added",
        now=now,
        actor=actor,
        branch=branch.code,
        subject=f"branch:{branch.code}",
        payload={"day": data.day.isoformat(), "reason": data.reason},
    )
    return row


def remove_closed_day(session: Session, *, code: str, day: date, actor: str, now: datetime) -> None:
    """Raises: BranchNotFound, ClosedDayNotFound."""
    branch = get_branch_by_code(session, code)
    row = session.scalars(
        select(ClosedDay).where(ClosedDay.branch_id == branch.id, ClosedDay.day == day)
    ).first()
    if row is None:
        raise ClosedDayNotFound(branch.code, day.isoformat())
    session.delete(row)
    session.flush()
    events.record(
        session,
        type="consortium.closed_day_removed",
        now=now,
        actor=actor,
        branch=branch.code,
        subject=f"branch:{branch.code}",
        payload={"day": day.isoformat()},
    )


def calendar(session: Session, *, code: str, start: date, end: date) -> CalendarRead:
    """A branch's weekly hours and its closed days between ``start`` and ``end`` inclusive."""
    branch = get_branch_by_code(session, code)
    hours = session.scalars(
        select(OpeningHours)
        .where(OpeningHours.branch_id == branch.id)
        .order_by(OpeningHours.weekday)
    ).all()
    closed = session.scalars(
        select(ClosedDay)
        .where(ClosedDay.branch_id == branch.id, ClosedDay.day >= start, ClosedDay.day <= end)
        .order_by(ClosedDay.day)
    ).all()
    return CalendarRead(
        branch_code=branch.code,
        hours=[DayHours(weekday=h.weekday, opens=h.opens, closes=h.closes) for h in hours],
        closed_days=[ClosedDayRead.model_validate(c) for c in closed],
    )


def is_open_on(session: Session, *, code: str, day: date) -> bool:
    """Whether a branch opens on ``day``: its weekly hours, minus its closed days."""
    branch = get_branch_by_code(session, code)
    weekdays, closed = _schedule(session, branch.id, day, day)
    return day not in closed and day.weekday() in weekdays


def next_open_day(session: Session, *, code: str, day: date) -> date:
    """``day`` itself if the branch is open then, else the first open day after it.

    Raises: BranchNotFound, InvalidOpeningHours when no day opens within a year.
    """
    branch = get_branch_by_code(session, code)
    weekdays, closed = _schedule(session, branch.id, day, day + timedelta(days=MAX_CLOSED_RUN))
    for offset in range(MAX_CLOSED_RUN + 1):
        candidate = day + timedelta(days=offset)
        if candidate.weekday() in weekdays and candidate not in closed:
            return candidate
    raise InvalidOpeningHours(day.weekday(), f"{branch.code} has no open day within a year")


def open_days(session: Session, *, code: str, start: date, end: date) -> list[date]:
    """The days from ``start`` to ``end`` inclusive on which the branch opens (for fines)."""
    branch = get_branch_by_code(session, code)
    weekdays, closed = _schedule(session, branch.id, start, end)
    days = []
    day = start
    while day <= end:
        if day.weekday() in weekdays and day not in closed:
            days.append(day)
        day += timedelta(days=1)
    return days


def _schedule(
    session: Session, branch_id: int, start: date, end: date
) -> tuple[set[int], set[date]]:
    """The weekdays (0 = Monday) the branch opens, and its closed days from ``start`` to
    ``end``, in one statement (a checkout's due day needs both). A branch without weekly hours
    opens every day."""
    weekly = select(OpeningHours.weekday.label("weekday"), literal(None, Date).label("day")).where(
        OpeningHours.branch_id == branch_id
    )
    closed = select(literal(None, Integer).label("weekday"), ClosedDay.day.label("day")).where(
        ClosedDay.branch_id == branch_id, ClosedDay.day >= start, ClosedDay.day <= end
    )
    weekdays: set[int] = set()
    days: set[date] = set()
    for weekday, day in session.execute(union_all(weekly, closed)):
        if weekday is not None:
            weekdays.add(int(weekday))
        else:
            days.add(day if isinstance(day, date) else date.fromisoformat(str(day)))
    return weekdays or set(range(7)), days


# ``Branch`` is named as the type these functions return: others hold it, never query it.
__all__ = [
    "Branch",
    "add_closed_day",
    "branch_tree",
    "calendar",
    "create_branch",
    "get_branch",
    "get_branch_by_code",
    "is_open_on",
    "list_branches",
    "next_open_day",
    "open_days",
    "remove_closed_day",
    "set_opening_hours",
    "update_branch",
]
