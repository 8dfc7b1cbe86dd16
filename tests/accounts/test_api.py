from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.accounts import PASSWORD, bearer, make_reader, make_staff
from tests.factories.consortium import make_network


@pytest.fixture
def desk(session: Session, client: TestClient) -> dict[str, str]:
    make_network(session)
    make_staff(session, roles=["circulation"], username="desk1", branch="B01")
    return bearer(client, "staff", "desk1")


class TestToken:
    def test_same_answer_for_unknown_account_and_wrong_password(
        self, session: Session, client: TestClient
    ) -> None:
        make_network(session)
        make_staff(session, roles=[], username="known")
        answers = [
            client.post(
                "/api/v1/auth/token",
                json={"kind": "staff", "account": account, "password": "wrong"},
            )
            for account in ("known", "unknown")
        ]
        assert [a.status_code for a in answers] == [401, 401]
        assert (
            answers[0].json()
            == answers[1].json()
            == {
                "error": "InvalidCredentials",
                "detail": "Wrong account name or password",
                "message": "账号或密码错误",
            }
        )

    def test_rate_limited_after_repeated_failures(
        self, session: Session, client: TestClient
    ) -> None:
        make_network(session)
        make_reader(session, card="RD9")
        body = {"kind": "reader", "account": "RD9", "password": "nope"}
        codes = [client.post("/api/v1/auth/token", json=body).status_code for _ in range(6)]
        assert codes == [401] * 5 + [429]
        ok = client.post("/api/v1/auth/token", json={**body, "password": PASSWORD})
        assert ok.status_code == 429
        assert ok.json()["error"] == "TooManyLoginAttempts"
        # The wait, in seconds, for programs (a quarter of an hour from the first failure).
        assert 890 <= int(ok.headers["retry-after"]) <= 900

    def test_forged_token_is_not_a_login(self, client: TestClient) -> None:
        r = client.get("/api/v1/me", headers={"Authorization": "Bearer eyJrIjoic3RhZmYifQ.x.y"})
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"

    def test_validation_error_names_the_field(self, client: TestClient) -> None:
        r = client.post("/api/v1/auth/token", json={"kind": "wizard", "account": "a"})
        assert r.status_code == 422
        body = r.json()
        assert body["error"] == "ValidationError"
        assert "kind" in body["detail"] and "password" in body["detail"]


class TestReaderSeesOnlyOwnData:
    def test_me_and_my_account(self, session: Session, client: TestClient) -> None:
        make_network(session)
        mine = make_reader(session, card="RD1", name="王小明")
        make_reader(session, card="RD2", name="别人")
        headers = bearer(client, "reader", "RD1")
        me = client.get("/api/v1/me", headers=headers).json()
        assert me == {
            "kind": "reader",
            "id": mine.id,
            "display_name": "王小明",
            "branch": "CEN",
            "permissions": [],
        }
        account = client.get("/api/v1/me/reader", headers=headers).json()
        assert account["card_number"] == "RD1" and account["name"] == "王小明"

    def test_cannot_read_another_reader_or_the_list(
        self, session: Session, client: TestClient
    ) -> None:
        make_network(session)
        make_reader(session, card="RD1")
        other = make_reader(session, card="RD2")
        headers = bearer(client, "reader", "RD1")
        for url in (f"/api/v1/readers/{other.id}", "/api/v1/readers"):
            r = client.get(url, headers=headers)
            assert r.status_code == 403
            assert r.json()["error"] == "StaffOnly"
            assert "RD2" not in r.text


class TestReadersAPI:
    def test_desk_registers_and_finds_a_reader(
        self, client: TestClient, desk: dict[str, str]
    ) -> None:
        created = client.post(
            "/api/v1/readers",
            headers=desk,
            json={
                "card_number": "a001",
                "name": "刘备",
                "category": "faculty",
                "home_branch": "B01",
                "expires_on": "2029-06-30",
            },
        )
        assert created.status_code == 201, created.text
        reader = created.json()
        assert reader["card_number"] == "A001" and reader["home_branch"] == "B01"
        found = client.get("/api/v1/readers", params={"q": "刘"}, headers=desk).json()
        assert [r["card_number"] for r in found["items"]] == ["A001"]
        blocked = client.patch(
            f"/api/v1/readers/{reader['id']}", headers=desk, json={"status": "blocked"}
        )
        assert blocked.json()["status"] == "blocked"

    def test_unknown_branch_is_a_clear_error(
        self, client: TestClient, desk: dict[str, str]
    ) -> None:
        r = client.post(
            "/api/v1/readers",
            headers=desk,
            json={
                "card_number": "A002",
                "name": "x",
                "home_branch": "ZZZ",
                "expires_on": "2029-01-01",
            },
        )
        assert r.status_code == 404
        assert r.json()["error"] == "BranchNotFound"
        assert r.json()["detail"] == "No branch with code ZZZ"
        assert r.json()["message"] == "没有代码为 ZZZ 的馆"  # zh-CN is the default language

    def test_bad_email_names_the_field(self, client: TestClient, desk: dict[str, str]) -> None:
        r = client.post(
            "/api/v1/readers",
            headers=desk,
            json={
                "card_number": "A003",
                "name": "x",
                "home_branch": "B01",
                "expires_on": "2029-01-01",
                "email": "not-an-address",
            },
        )
        assert r.status_code == 422 and r.json()["detail"].startswith("email")


class TestReaderQRAPI:
    def test_phone_code_resolves_at_the_desk(
        self, session: Session, client: TestClient, desk: dict[str, str]
    ) -> None:
        make_reader(session, card="R77")
        qr = client.get("/api/v1/me/qr", headers=bearer(client, "reader", "R77")).json()
        assert qr["svg"].startswith("<svg") and qr["expires_in"] == 300
        found = client.post("/api/v1/readers/resolve-qr", headers=desk, json={"code": qr["code"]})
        assert found.status_code == 200 and found.json()["card_number"] == "R77"
        bad = client.post(
            "/api/v1/readers/resolve-qr", headers=desk, json={"code": qr["code"] + "x"}
        )
        assert bad.status_code == 400 and bad.json()["error"] == "InvalidReaderQR"


class TestStaffAPI:
    def test_admin_creates_staff_with_roles(self, session: Session, client: TestClient) -> None:
        make_network(session)
        make_staff(session, roles=["admin"], username="root")
        admin = bearer(client, "staff", "root")
        r = client.post(
            "/api/v1/staff",
            headers=admin,
            json={
                "username": "reviewer2",
                "display_name": "审校二",
                "password": "long enough",
                "roles": ["reviewer"],
                "branch": "CEN",
            },
        )
        assert r.status_code == 201
        assert r.json()["roles"] == ["reviewer"]
        new = bearer(client, "staff", "reviewer2", "long enough")
        me = client.get("/api/v1/me", headers=new).json()
        assert me["permissions"] == ["catalog.record.review"]
        roles = {x["code"] for x in client.get("/api/v1/roles", headers=admin).json()}
        assert {
            "cataloguer",
            "reviewer",
            "publisher",
            "circulation",
            "branch_manager",
            "admin",
        } <= roles


class TestPasswordChange:
    def test_old_token_stops_working(self, session: Session, client: TestClient) -> None:
        make_network(session)
        make_staff(session, roles=[], username="changer")
        headers = bearer(client, "staff", "changer")
        r = client.post(
            "/api/v1/me/password",
            headers=headers,
            json={"current_password": PASSWORD, "new_password": "brand new pass"},
        )
        assert r.status_code == 204
        assert client.get("/api/v1/me", headers=headers).status_code == 401
        assert (
            client.get(
                "/api/v1/me", headers=bearer(client, "staff", "changer", "brand new pass")
            ).status_code
            == 200
        )


class TestTokensAreLoginSessions:
    """API tokens are kept server-side like page logins: they end when revoked."""

    def test_a_token_stops_working_once_logged_out(
        self, session: Session, client: TestClient
    ) -> None:
        make_network(session)
        make_reader(session, card="RT1")
        headers = bearer(client, "reader", "RT1")
        assert client.get("/api/v1/me", headers=headers).status_code == 200
        assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
        gone = client.get("/api/v1/me", headers=headers)
        assert gone.status_code == 401 and gone.json()["error"] == "NotAuthenticated"

    def test_logout_everywhere_ends_every_token(self, session: Session, client: TestClient) -> None:
        make_network(session)
        make_reader(session, card="RT2")
        phone, kiosk_app = bearer(client, "reader", "RT2"), bearer(client, "reader", "RT2")
        assert client.post("/api/v1/auth/logout-everywhere", headers=phone).status_code == 204
        for headers in (phone, kiosk_app):
            assert client.get("/api/v1/me", headers=headers).status_code == 401

    def test_a_reader_sees_their_logins_and_ends_one(
        self, session: Session, client: TestClient
    ) -> None:
        make_network(session)
        make_reader(session, card="RT3")
        make_reader(session, card="RT4")
        app = {"User-Agent": "LibraryApp/2.1 (okhttp)"}
        old = bearer(client, "reader", "RT3")
        current = {**bearer(client, "reader", "RT3"), **app}
        listed = client.get("/api/v1/me/sessions", headers=current).json()
        assert [s["current"] for s in listed] == [True, False]
        assert listed[0]["channel"] == "api" and listed[0]["client_address"] == "testclient"
        assert {"created_at", "last_seen_at", "expires_at", "user_agent"} <= set(listed[0])
        r = client.delete(f"/api/v1/me/sessions/{listed[1]['id']}", headers=current)
        assert r.status_code == 204
        assert client.get("/api/v1/me", headers=old).status_code == 401
        assert client.get("/api/v1/me", headers=current).status_code == 200
        # Another reader's login is not theirs to end, nor to learn about.
        theirs = client.get("/api/v1/me/sessions", headers=bearer(client, "reader", "RT4"))
        r = client.delete(f"/api/v1/me/sessions/{theirs.json()[0]['id']}", headers=current)
        assert r.status_code == 404 and r.json()["error"] == "LoginSessionNotFound"


class TestStaffSessionsAPI:
    def test_an_administrator_disables_an_account_and_its_tokens_stop(
        self, session: Session, client: TestClient
    ) -> None:
        make_network(session)
        make_staff(session, roles=["admin"], username="root")
        desk = make_staff(session, roles=["circulation"], username="desk5")
        admin, desk_token = bearer(client, "staff", "root"), bearer(client, "staff", "desk5")
        refused = client.patch(f"/api/v1/staff/{desk.id}", headers=desk_token, json={"active": 0})
        assert refused.status_code == 403
        r = client.patch(f"/api/v1/staff/{desk.id}", headers=admin, json={"active": False})
        assert r.status_code == 200 and r.json()["active"] is False
        assert client.get("/api/v1/me", headers=desk_token).status_code == 401
        again = client.post(
            "/api/v1/auth/token", json={"kind": "staff", "account": "desk5", "password": PASSWORD}
        )
        assert again.status_code == 401
        me = client.get("/api/v1/me", headers=admin).json()
        own = client.patch(f"/api/v1/staff/{me['id']}", headers=admin, json={"active": False})
        assert own.status_code == 409 and own.json()["error"] == "CannotDisableOwnAccount"

    def test_a_manager_lists_and_ends_a_staff_members_logins(
        self, session: Session, client: TestClient
    ) -> None:
        make_network(session)
        make_staff(session, roles=["admin"], username="root")
        desk = make_staff(session, roles=["circulation"], username="desk6")
        admin = bearer(client, "staff", "root")
        first, second = bearer(client, "staff", "desk6"), bearer(client, "staff", "desk6")
        listed = client.get(f"/api/v1/staff/{desk.id}/sessions", headers=admin).json()
        assert len(listed) == 2 and not any(s["current"] for s in listed)
        one = client.delete(f"/api/v1/staff/{desk.id}/sessions/{listed[1]['id']}", headers=admin)
        assert one.status_code == 204
        assert client.get("/api/v1/me", headers=first).status_code == 401
        assert client.get("/api/v1/me", headers=second).status_code == 200
        assert client.delete(f"/api/v1/staff/{desk.id}/sessions", headers=admin).status_code == 204
        assert client.get("/api/v1/me", headers=second).status_code == 401
        assert client.get(f"/api/v1/staff/{desk.id}/sessions", headers=admin).json() == []
        nobody = client.get("/api/v1/staff/999999/sessions", headers=admin)
        assert nobody.status_code == 404 and nobody.json()["error"] == "StaffNotFound"
