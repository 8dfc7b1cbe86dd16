"""Logging in and out through the pages."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.accounts import make_reader, make_staff
from tests.factories.consortium import make_network
from tests.web.helpers import post_login, shown


class TestLogin:
    def test_staff_logs_in_and_out(self, session: Session, client: TestClient) -> None:
        make_network(session)
        make_staff(session, roles=["circulation"], username="desk9")
        r = post_login(client, "staff", "desk9")
        assert r.status_code == 303 and r.headers["location"] == "/staff"
        page = client.get("/staff").text
        assert "馆员工作台" in page and "测试馆员" in page
        client.post("/logout")
        r = client.get("/staff", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login?next=/staff"

    def test_reader_lands_on_my_library_with_a_qr_code(
        self, session: Session, client: TestClient
    ) -> None:
        make_network(session)
        make_reader(session, card="PG1", name="黄蓉")
        r = post_login(client, "reader", "pg1")
        assert r.headers["location"] == "/me"
        page = client.get("/me").text
        assert "黄蓉" in page and "PG1" in page and "<svg" in page and "viewBox" in page

    def test_wrong_password_and_unknown_account_read_the_same(
        self, session: Session, client: TestClient
    ) -> None:
        make_network(session)
        make_reader(session, card="PG2")
        messages = []
        for account in ("PG2", "NOBODY"):
            r = post_login(client, "reader", account, password="wrong")
            assert r.status_code == 401  # type: ignore[attr-defined]
            messages.append(re.search(r'data-testid="login-error">([^<]+)<', r.text).group(1))  # type: ignore[attr-defined, union-attr]
        assert messages == ["账号或密码错误", "账号或密码错误"]

    def test_a_throttled_login_says_how_long_to_wait(
        self, session: Session, client: TestClient
    ) -> None:
        make_network(session)
        make_reader(session, card="PG3")
        for _ in range(5):
            assert post_login(client, "reader", "PG3", password="wrong").status_code == 401  # type: ignore[attr-defined]
        r = post_login(client, "reader", "PG3")
        assert r.status_code == 429  # type: ignore[attr-defined]
        assert r.headers["retry-after"] == "900"  # type: ignore[attr-defined]
        assert shown(r, "login-error") == "登录失败次数过多，请 15 分钟后再试"  # type: ignore[arg-type]

    def test_next_is_followed_but_only_on_site(self, session: Session, client: TestClient) -> None:
        make_network(session)
        make_staff(session, roles=["circulation"], username="desk8")
        r = post_login(client, "staff", "desk8", next_="/staff/scan")
        assert r.headers["location"] == "/staff/scan"  # type: ignore[attr-defined]
        r = post_login(client, "staff", "desk8", next_="https://evil.example/")
        assert r.headers["location"] == "/staff"  # type: ignore[attr-defined]

    def test_missing_permission_page_names_it(self, session: Session, client: TestClient) -> None:
        make_network(session)
        make_staff(session, roles=["reviewer"], username="rev")
        post_login(client, "staff", "rev")
        r = client.get("/staff/readers")
        assert r.status_code == 403 and "缺少权限：accounts.reader.read" in r.text

    def test_cross_site_form_post_is_refused(self, session: Session, client: TestClient) -> None:
        r = client.post("/logout", headers={"Origin": "https://evil.example"})
        assert r.status_code == 403
        assert "此请求并非来自本馆自己的页面" in shown(r, "error-message")
        api = client.post("/api/v1/auth/logout", headers={"Origin": "https://evil.example"})
        assert api.status_code == 403 and api.json()["error"] == "CrossOriginRequest"
