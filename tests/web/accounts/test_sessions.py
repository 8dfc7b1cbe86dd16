"""Page logins end on the server: a copied cookie is worthless after logout, "log out
everywhere" ends every browser's and app's login, and staff managers end a colleague's."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.conftest import ORIGIN
from tests.factories.accounts import PASSWORD, bearer, make_reader, make_staff
from tests.factories.consortium import make_network
from tests.web.helpers import login, shown

PHONE = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/131.0 Mobile Safari"


def another_browser(app: FastAPI, **headers: str) -> TestClient:
    return TestClient(app, base_url="http://testserver", headers={"Origin": ORIGIN, **headers})


def session_cookie(client: TestClient) -> str:
    value = client.cookies.get("shulian_session")
    assert value, "not logged in"
    return value


def signed_in(client: TestClient, path: str) -> bool:
    r = client.get(path, follow_redirects=False)
    return r.status_code == 200


def form_token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no form token on the page"
    return found.group(1)


class TestLogout:
    def test_a_copied_cookie_is_refused_after_logout(
        self, session: Session, app: FastAPI, client: TestClient
    ) -> None:
        make_network(session)
        make_reader(session, card="CK1", name="黄蓉")
        login(client, "reader", "CK1")
        stolen = session_cookie(client)
        thief = another_browser(app)
        thief.cookies.set("shulian_session", stolen)
        assert signed_in(thief, "/me")
        r = client.post("/logout", follow_redirects=False)
        assert r.status_code == 303 and "shulian_session" in r.headers["set-cookie"]
        # The copy, used after the owner logged out: a stranger, on pages and in the API.
        r = thief.get("/me", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login?next=/me"
        assert thief.get("/api/v1/me").status_code == 401

    def test_the_session_cookie_is_httponly_and_same_site(
        self, session: Session, client: TestClient
    ) -> None:
        make_network(session)
        make_reader(session, card="CK2")
        r = client.post(
            "/login",
            data={"kind": "reader", "account": "CK2", "password": PASSWORD},
            follow_redirects=False,
        )
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
        assert "secure" not in cookie  # plain HTTP here; see test_protections for HTTPS

    def test_logging_in_again_ends_the_login_the_browser_had(
        self, session: Session, app: FastAPI, client: TestClient
    ) -> None:
        make_network(session)
        make_reader(session, card="CK3")
        login(client, "reader", "CK3")
        first = session_cookie(client)
        login(client, "reader", "CK3")
        assert session_cookie(client) != first
        copy = another_browser(app)
        copy.cookies.set("shulian_session", first)
        assert not signed_in(copy, "/me")

    def test_changing_the_password_ends_every_login(
        self, session: Session, app: FastAPI, client: TestClient
    ) -> None:
        make_network(session)
        make_reader(session, card="CK4")
        login(client, "reader", "CK4")
        laptop = another_browser(app)
        login(laptop, "reader", "CK4")
        r = client.post(
            "/me/password",
            data={"current_password": PASSWORD, "new_password": "a-new-one-7"},
            follow_redirects=False,
        )
        assert r.headers["location"] == "/login?changed=1"
        assert not signed_in(laptop, "/me") and not signed_in(client, "/me")


class TestWhereIAmLoggedIn:
    def test_a_reader_sees_where_and_when_and_logs_out_everywhere(
        self, session: Session, app: FastAPI, client: TestClient
    ) -> None:
        make_network(session)
        make_reader(session, card="CK5")
        phone = another_browser(app, **{"User-Agent": PHONE})
        login(phone, "reader", "CK5")
        token = bearer(client, "reader", "CK5")
        login(client, "reader", "CK5")
        assert 'href="/me/sessions"' in client.get("/me").text
        page = client.get("/me/sessions")
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        assert page.text.count('data-testid="session"') == 3
        assert "Chrome · Android" in page.text and "来自 testclient" in page.text
        assert "API 令牌" in page.text and shown(page, "current") == "当前这个"
        r = client.post(
            "/me/sessions/end-all",
            data={"csrf_token": form_token(page.text)},
            follow_redirects=False,
        )
        assert r.headers["location"] == "/login?everywhere=1"
        assert not signed_in(phone, "/me") and not signed_in(client, "/me")
        assert client.get("/api/v1/me", headers=token).status_code == 401

    def test_a_reader_logs_out_a_phone_left_logged_in(
        self, session: Session, app: FastAPI, client: TestClient
    ) -> None:
        make_network(session)
        make_reader(session, card="CK6")
        phone = another_browser(app, **{"User-Agent": PHONE})
        login(phone, "reader", "CK6")
        login(client, "reader", "CK6")
        page = client.get("/me/sessions").text
        rows = re.findall(r'data-session="(\d+)">\s*<strong>(.*?)</strong>', page)
        others = [sid for sid, title in rows if 'data-testid="current"' not in title]
        assert len(rows) == 2 and len(others) == 1
        r = client.post(f"/me/sessions/{others[0]}/end", follow_redirects=False)
        assert r.headers["location"] == "/me/sessions"
        assert not signed_in(phone, "/me") and signed_in(client, "/me")
        assert client.get("/me/sessions").text.count('data-testid="session"') == 1

    def test_staff_log_out_everywhere_from_their_workspace(
        self, session: Session, app: FastAPI, client: TestClient
    ) -> None:
        make_network(session)
        make_staff(session, roles=["circulation"], username="desk7")
        desk_pc = another_browser(app)
        login(desk_pc, "staff", "desk7")
        login(client, "staff", "desk7")
        assert 'data-testid="my-sessions-link"' in client.get("/staff").text
        client.post("/me/sessions/end-all")
        assert not signed_in(desk_pc, "/staff")


class TestStaffAccountsPages:
    def test_an_administrator_ends_a_colleagues_logins_and_disables_the_account(
        self, session: Session, app: FastAPI, client: TestClient
    ) -> None:
        make_network(session)
        make_staff(session, roles=["admin"], username="root")
        desk = make_staff(session, roles=["circulation"], username="desk8")
        desk_pc = another_browser(app)
        login(desk_pc, "staff", "desk8")
        login(client, "staff", "root")
        assert 'href="/staff/accounts"' in client.get("/staff").text
        listing = client.get("/staff/accounts")
        assert f'href="/staff/accounts/{desk.id}"' in listing.text
        page = client.get(f"/staff/accounts/{desk.id}")
        assert page.text.count('data-testid="session"') == 1
        assert shown(page, "staff-status") == "已启用"
        client.post(f"/staff/accounts/{desk.id}/sessions/end-all")
        assert not signed_in(desk_pc, "/staff")
        login(desk_pc, "staff", "desk8")
        r = client.post(
            f"/staff/accounts/{desk.id}/active", data={"active": "false"}, follow_redirects=False
        )
        assert r.headers["location"] == f"/staff/accounts/{desk.id}"
        assert not signed_in(desk_pc, "/staff")
        assert shown(client.get(f"/staff/accounts/{desk.id}"), "staff-status") == "已停用"
        refused = desk_pc.post(
            "/login",
            data={"kind": "staff", "account": "desk8", "password": PASSWORD},
            follow_redirects=False,
        )
        assert refused.status_code == 401

    def test_only_staff_managers_see_these_pages(
        self, session: Session, client: TestClient
    ) -> None:
        make_network(session)
        make_staff(session, roles=["circulation"], username="desk9")
        login(client, "staff", "desk9")
        assert 'href="/staff/accounts"' not in client.get("/staff").text
        r = client.get("/staff/accounts")
        assert r.status_code == 403 and "accounts.staff.manage" in r.text
