"""HTTP API of the library network. Reading the network is public; changing it needs
``consortium.manage``."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, status

from shulian.consortium import service
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
from shulian.core.deps import NowDep, SessionDep, require
from shulian.core.security import Principal

router = APIRouter(prefix="/api/v1/branches", tags=["network"])
Manager = Annotated[Principal, require("consortium.manage")]


@router.get("", response_model=list[BranchRead])
def list_branches(session: SessionDep) -> list[BranchRead]:
    return [BranchRead.model_validate(b) for b in service.list_branches(session)]


@router.get("/tree", response_model=list[BranchNode])
def branch_tree(session: SessionDep) -> list[BranchNode]:
    return service.branch_tree(session)


@router.post("", response_model=BranchRead, status_code=status.HTTP_201_CREATED)
def create_branch(body: BranchCreate, session: SessionDep, now: NowDep, who: Manager) -> BranchRead:
    return BranchRead.model_validate(
        service.create_branch(session, data=body, actor=who.actor, now=now)
    )


@router.get("/{code}", response_model=BranchRead)
def get_branch(code: str, session: SessionDep) -> BranchRead:
    return BranchRead.model_validate(service.get_branch_by_code(session, code))


@router.patch("/{code}", response_model=BranchRead)
def update_branch(
    code: str, body: BranchUpdate, session: SessionDep, now: NowDep, who: Manager
) -> BranchRead:
    return BranchRead.model_validate(
        service.update_branch(session, code=code, data=body, actor=who.actor, now=now)
    )


@router.get("/{code}/calendar", response_model=CalendarRead)
def get_calendar(
    code: str,
    session: SessionDep,
    now: NowDep,
    start: Annotated[date | None, Query()] = None,
    days: Annotated[int, Query(ge=1, le=366)] = 60,
) -> CalendarRead:
    first = start or now.date()
    return service.calendar(session, code=code, start=first, end=first + timedelta(days=days - 1))


@router.put("/{code}/hours", response_model=list[DayHours])
def set_hours(
    code: str, body: WeeklyHours, session: SessionDep, now: NowDep, who: Manager
) -> list[DayHours]:
    rows = service.set_opening_hours(session, code=code, hours=body, actor=who.actor, now=now)
    return [DayHours(weekday=r.weekday, opens=r.opens, closes=r.closes) for r in rows]


@router.post(
    "/{code}/closed-days", response_model=ClosedDayRead, status_code=status.HTTP_201_CREATED
)
def add_closed_day(
    code: str, body: ClosedDayCreate, session: SessionDep, now: NowDep, who: Manager
) -> ClosedDayRead:
    return ClosedDayRead.model_validate(
        service.add_closed_day(session, code=code, data=body, actor=who.actor, now=now)
    )


@router.delete("/{code}/closed-days/{day}", status_code=status.HTTP_204_NO_CONTENT)
def remove_closed_day(code: str, day: date, session: SessionDep, now: NowDep, who: Manager) -> None:
    service.remove_closed_day(session, code=code, day=day, actor=who.actor, now=now)
