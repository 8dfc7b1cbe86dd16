"""The network's public pages: the branch tree and one branch with its hours and closed days."""

from __future__ import annotations

import re
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from shulian.consortium import service
from shulian.consortium.schemas import ClosedDayCreate, DayHours, WeeklyHours
from tests.conftest import NOW
from tests.factories.consortium import make_network


class TestNetwork:
    def test_the_tree_nests_each_branch_under_its_parent_with_its_kind(
        self, session: Session, client: TestClient
    ) -> None:
        make_network(session)
        page = client.get("/branches")
        assert page.status_code == 200 and "总分馆体系" in page.text
        links = re.findall(r'href="/branches/(\w+)"', page.text)
        assert links == ["CEN", "B01", "S01", "D01"]
        for kind in ("总馆", "分馆", "24 小时自助图书馆", "流通点"):
            assert kind in page.text
        # S01 sits inside B01's list, which closes before D01 comes.
        b01 = page.text.index('href="/branches/B01"')
        assert page.text.index("<ul>", b01) < page.text.index('href="/branches/S01"')

    def test_english_after_switching(self, session: Session, client: TestClient) -> None:
        make_network(session)
        client.get("/lang/en")
        page = client.get("/branches").text
        assert "Library network" in page and "S01 library" in page
        assert "24-hour self-service library" in page


class TestBranchPage:
    def test_hours_and_the_closed_days_of_the_next_two_months(
        self, session: Session, client: TestClient
    ) -> None:
        make_network(session)
        week = WeeklyHours(days=[DayHours(weekday=0, opens="09:00", closes="21:00")])
        service.set_opening_hours(session, code="B01", hours=week, actor="t", now=NOW)
        for day, reason in ((date(2026, 12, 25), "盘点"), (date(2027, 3, 1), "远期")):
            service.add_closed_day(
                session,
                code="B01",
                data=ClosedDayCreate(day=day, reason=reason),
                actor="t",
                now=NOW,
            )
        page = client.get("/branches/B01")
        assert page.status_code == 200
        assert "B01 馆" in page.text and "分馆" in page.text
        assert "星期一" in page.text and "09:00–21:00" in page.text
        assert "2026-12-25 盘点" in page.text and "远期" not in page.text

    def test_without_hours_it_is_open_every_day(self, session: Session, client: TestClient) -> None:
        make_network(session)
        page = client.get("/branches/CEN").text
        assert "每天开放。" in page and "未来两个月没有闭馆安排。" in page

    def test_an_unknown_branch_is_a_not_found_page(
        self, session: Session, client: TestClient
    ) -> None:
        make_network(session)
        r = client.get("/branches/ZZZ")
        assert r.status_code == 404 and "没有代码为 ZZZ 的馆" in r.text
