from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.accounts import bearer, make_staff
from tests.factories.consortium import make_network


@pytest.fixture
def admin(session: Session, client: TestClient) -> dict[str, str]:
    make_network(session)
    make_staff(session, roles=["admin"], username="netadmin")
    return bearer(client, "staff", "netadmin")


def test_anyone_reads_the_network(client: TestClient, admin: dict[str, str]) -> None:
    tree = client.get("/api/v1/branches/tree").json()
    cen = next(n for n in tree if n["branch"]["code"] == "CEN")
    assert {c["branch"]["code"] for c in cen["children"]} == {"B01", "D01"}
    assert client.get("/api/v1/branches/s01").json()["kind"] == "self_service"


def test_manager_adds_a_branch_and_sets_its_calendar(
    client: TestClient, admin: dict[str, str]
) -> None:
    r = client.post(
        "/api/v1/branches",
        headers=admin,
        json={
            "code": "B02",
            "name_zh": "西城分馆",
            "name_en": "West",
            "kind": "branch",
            "parent_code": "CEN",
        },
    )
    assert r.status_code == 201
    hours = {"days": [{"weekday": d, "opens": "09:00", "closes": "17:30"} for d in range(5)]}
    assert client.put("/api/v1/branches/B02/hours", headers=admin, json=hours).status_code == 200
    assert (
        client.post(
            "/api/v1/branches/B02/closed-days",
            headers=admin,
            json={"day": "2026-12-25", "reason": "盘点"},
        ).status_code
        == 201
    )
    cal = client.get("/api/v1/branches/B02/calendar", params={"start": "2026-12-01"}).json()
    assert [c["day"] for c in cal["closed_days"]] == ["2026-12-25"]
    assert len(cal["hours"]) == 5
    assert (
        client.delete("/api/v1/branches/B02/closed-days/2026-12-25", headers=admin).status_code
        == 204
    )


def test_bad_hours_are_refused_with_the_reason(client: TestClient, admin: dict[str, str]) -> None:
    r = client.put(
        "/api/v1/branches/B01/hours",
        headers=admin,
        json={"days": [{"weekday": 1, "opens": "25:00", "closes": "26:00"}]},
    )
    assert r.status_code == 422 and "days.0.opens" in r.json()["detail"]
    r = client.put(
        "/api/v1/branches/B01/hours",
        headers=admin,
        json={"days": [{"weekday": 1, "opens": "20:00", "closes": "08:00"}]},
    )
    assert r.status_code == 400
    assert r.json()["detail"] == "Opening hours for weekday 1: closes before it opens"
