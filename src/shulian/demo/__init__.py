"""A small demo library: a city network with branches, self-service points and calendars,
staff for each role and a few readers. Loaded by ``shulian demo`` and ``make run``.

Idempotent: a database that already has the demo network is left as it is.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from shulian.accounts import service as accounts_service
from shulian.accounts.errors import CardNumberTaken, UsernameTaken
from shulian.accounts.schemas import ReaderCreate, StaffCreate
from shulian.consortium import service as consortium_service
from shulian.consortium.errors import BranchCodeTaken
from shulian.consortium.schemas import (
    BranchCreate,
    BranchKind,
    ClosedDayCreate,
    DayHours,
    WeeklyHours,
)

# Published demo passwords (README): a demo library only, never a real one.
DEMO_STAFF_PASSWORD = "shulian-demo"  # noqa: S105
DEMO_READER_PASSWORD = "reader-demo"  # noqa: S105
ACTOR = "system:demo"

NETWORK: list[tuple[str, str, str, BranchKind, str | None, str]] = [
    (
        "CEN",
        "书链市图书馆（总馆）",
        "Shulian City Library (Central)",
        BranchKind.CENTRAL,
        None,
        "文化路 1 号",
    ),
    ("B01", "东城分馆", "East District Branch", BranchKind.BRANCH, "CEN", "东城区朝阳街 18 号"),
    ("B02", "西城分馆", "West District Branch", BranchKind.BRANCH, "CEN", "西城区和平路 66 号"),
    ("B03", "大学城分馆", "University Town Branch", BranchKind.BRANCH, "CEN", "大学城学苑路 9 号"),
    (
        "S01",
        "地铁中心站 24 小时自助图书馆",
        "Metro Central 24-hour Library",
        BranchKind.SELF_SERVICE,
        "CEN",
        "地铁中心站 B 出口",
    ),
    (
        "S02",
        "东城 24 小时自助图书馆",
        "East 24-hour Library",
        BranchKind.SELF_SERVICE,
        "B01",
        "东城区市民广场",
    ),
    (
        "D01",
        "幸福社区流通点",
        "Xingfu Community Delivery Point",
        BranchKind.DELIVERY_POINT,
        "B02",
        "幸福社区服务中心",
    ),
]

STAFF: list[tuple[str, str, str | None, list[str]]] = [
    ("admin", "系统管理员", None, ["admin"]),
    ("cataloguer", "编目员 李明", "CEN", ["cataloguer"]),
    ("reviewer", "审校员 王芳", "CEN", ["reviewer"]),
    ("publisher", "发布员 张伟", "CEN", ["publisher"]),
    ("desk", "流通馆员 刘洋", "B01", ["circulation"]),
    ("manager", "分馆馆长 陈静", "B01", ["branch_manager"]),
]

READER_NAMES = [
    "赵一鸣",
    "钱晓雨",
    "孙悦",
    "李思远",
    "周子涵",
    "吴嘉怡",
    "郑浩然",
    "王雨桐",
    "冯志强",
    "陈书瑶",
    "褚明轩",
    "卫若兰",
]
CATEGORIES = ["adult", "student", "child", "faculty"]


def load(session: Session, *, now: datetime) -> dict[str, int]:
    """Load the demo library; returns how many of each thing were added."""
    added = {"branches": 0, "staff": 0, "readers": 0}
    for code, zh, en, kind, parent, address in NETWORK:
        try:
            with session.begin_nested():
                consortium_service.create_branch(
                    session,
                    data=BranchCreate(
                        code=code,
                        name_zh=zh,
                        name_en=en,
                        kind=kind,
                        parent_code=parent,
                        address=address,
                    ),
                    actor=ACTOR,
                    now=now,
                )
        except BranchCodeTaken:
            continue
        added["branches"] += 1
        _calendar(session, code, kind, now)
    for username, name, branch, roles in STAFF:
        try:
            with session.begin_nested():
                accounts_service.create_staff(
                    session,
                    data=StaffCreate(
                        username=username,
                        display_name=name,
                        password=DEMO_STAFF_PASSWORD,
                        branch=branch,
                        roles=roles,
                    ),
                    actor=ACTOR,
                    now=now,
                )
            added["staff"] += 1
        except UsernameTaken:
            pass
    homes = [c for c, *_ in NETWORK if c != "D01"]
    for i, name in enumerate(READER_NAMES, start=1):
        try:
            with session.begin_nested():
                accounts_service.register_reader(
                    session,
                    data=ReaderCreate(
                        card_number=f"R{i:04d}",
                        name=name,
                        category=CATEGORIES[i % len(CATEGORIES)],
                        phone=f"1380000{i:04d}",
                        home_branch=homes[i % len(homes)],
                        expires_on=(now + timedelta(days=365 * 2)).date(),
                        password=DEMO_READER_PASSWORD,
                    ),
                    actor=ACTOR,
                    now=now,
                )
            added["readers"] += 1
        except CardNumberTaken:
            pass
    return added


def _calendar(session: Session, code: str, kind: BranchKind, now: datetime) -> None:
    if kind is BranchKind.SELF_SERVICE:
        days = [DayHours(weekday=d, opens="00:00", closes="24:00") for d in range(7)]
    elif kind is BranchKind.CENTRAL:
        # Many Chinese public libraries close on Monday mornings or all Monday.
        days = [DayHours(weekday=d, opens="09:00", closes="21:00") for d in range(1, 7)]
    else:
        days = [DayHours(weekday=d, opens="09:00", closes="18:00") for d in range(7)]
    consortium_service.set_opening_hours(
        session, code=code, hours=WeeklyHours(days=days), actor=ACTOR, now=now
    )
    if kind is BranchKind.SELF_SERVICE:
        return
    year = now.year + (1 if now.month >= 11 else 0)
    for day, reason in [
        (date(year, 1, 1), "元旦 New Year's Day"),
        (date(year, 5, 1), "劳动节 Labour Day"),
        (date(year, 10, 1), "国庆节 National Day"),
    ]:
        consortium_service.add_closed_day(
            session, code=code, data=ClosedDayCreate(day=day, reason=reason), actor=ACTOR, now=now
        )
