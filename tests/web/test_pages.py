from __future__ import annotations

import logging
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.accounts import PASSWORD, make_reader, make_staff
from tests.factories.consortium import make_network


def _login(
    client: TestClient, kind: str, account: str, password: str = PASSWORD, next_: str = "/"
) -> object:
    return client.post(
        "/login",
        data={"kind": kind, "account": account, "password": password, "next": next_},
        follow_redirects=False,
    )


class TestLanguage:
    def test_simplified_chinese_by_default(self, client: TestClient) -> None:
        page = client.get("/").text
        assert '<html lang="zh-CN">' in page
        assert "欢迎来到图书馆" in page and "登录" in page

    def test_switch_to_english_sticks(self, client: TestClient) -> None:
        r = client.get("/lang/en", params={"next": "/branches"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/branches"
        page = client.get("/").text
        assert '<html lang="en">' in page and "Welcome to the library" in page
        client.get("/lang/zh-CN")
        assert "欢迎来到图书馆" in client.get("/").text

    def test_language_switch_never_redirects_off_site(self, client: TestClient) -> None:
        for target in ("https://evil.example/", "//evil.example", "/\\evil.example"):
            r = client.get("/lang/en", params={"next": target}, follow_redirects=False)
            assert r.headers["location"] == "/"

    def test_unknown_page_is_404_in_the_readers_language(self, client: TestClient) -> None:
        r = client.get("/no/such/page")
        assert r.status_code == 404 and "页面不存在" in r.text
        client.get("/lang/en")
        r = client.get("/no/such/page")
        assert r.status_code == 404 and "Page not found" in r.text

    def test_api_404_is_json(self, client: TestClient) -> None:
        r = client.get("/api/v1/no-such-thing")
        assert r.status_code == 404
        assert r.json() == {"error": "NotFound", "detail": "Page not found"}


class TestLogin:
    def test_staff_logs_in_and_out(self, session: Session, client: TestClient) -> None:
        make_network(session)
        make_staff(session, roles=["circulation"], username="desk9")
        r = _login(client, "staff", "desk9")
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
        r = _login(client, "reader", "pg1")
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
            r = _login(client, "reader", account, password="wrong")
            assert r.status_code == 401  # type: ignore[attr-defined]
            messages.append(re.search(r'data-testid="login-error">([^<]+)<', r.text).group(1))  # type: ignore[attr-defined, union-attr]
        assert messages == ["账号或密码错误", "账号或密码错误"]

    def test_next_is_followed_but_only_on_site(self, session: Session, client: TestClient) -> None:
        make_network(session)
        make_staff(session, roles=["circulation"], username="desk8")
        r = _login(client, "staff", "desk8", next_="/staff/scan")
        assert r.headers["location"] == "/staff/scan"  # type: ignore[attr-defined]
        r = _login(client, "staff", "desk8", next_="https://evil.example/")
        assert r.headers["location"] == "/staff"  # type: ignore[attr-defined]

    def test_missing_permission_page_names_it(self, session: Session, client: TestClient) -> None:
        make_network(session)
        make_staff(session, roles=["reviewer"], username="rev")
        _login(client, "staff", "rev")
        r = client.get("/staff/readers")
        assert r.status_code == 403 and "缺少权限：accounts.reader.read" in r.text

    def test_cross_site_form_post_is_refused(self, session: Session, client: TestClient) -> None:
        r = client.post("/logout", headers={"Origin": "https://evil.example"})
        assert r.status_code == 403 and r.json()["error"] == "CrossOriginRequest"


class TestStaffReaderPages:
    def test_desk_registers_a_reader_through_the_form(
        self, session: Session, client: TestClient
    ) -> None:
        make_network(session)
        make_staff(session, roles=["circulation"], username="desk7")
        _login(client, "staff", "desk7")
        form = {
            "card_number": "F100",
            "name": "郭靖",
            "category": "student",
            "home_branch": "B01",
            "expires_on": "2029-09-01",
        }
        r = client.post("/staff/readers", data=form, follow_redirects=False)
        assert r.status_code == 303
        page = client.get(r.headers["location"]).text
        assert "郭靖" in page and "F100" in page
        again = client.post("/staff/readers", data=form)
        assert again.status_code == 400 and "读者证号 F100 已被使用" in again.text
        # The search box (htmx) gets rows only.
        rows = client.get("/staff/readers", params={"q": "郭"}, headers={"HX-Request": "true"})
        assert rows.text.lstrip().startswith('<tbody id="reader-rows">') and "F100" in rows.text

    def test_desk_scans_a_reader_qr_code(self, session: Session, client: TestClient) -> None:
        make_network(session)
        make_reader(session, card="QR1", name="洪七公")
        make_staff(session, roles=["circulation"], username="desk6")
        _login(client, "reader", "QR1")
        code = re.search(r"SLR1\.[\w.-]+", client.get("/api/v1/me/qr").text)
        assert code is not None
        client.post("/logout")
        _login(client, "staff", "desk6")
        page = client.post("/staff/scan", data={"code": code.group(0)}).text
        assert "洪七公" in page
        bad = client.post("/staff/scan", data={"code": code.group(0)[:-2]})
        assert bad.status_code == 400 and "读者二维码无效或已过期" in bad.text


class TestShell:
    def test_health(self, client: TestClient) -> None:
        body = client.get("/healthz").json()
        assert body["status"] == "ok" and body["database"] in {"sqlite", "postgresql"}

    def test_front_end_assets_are_served_locally(self, client: TestClient) -> None:
        assert client.get("/static/vendor/htmx.min.js").status_code == 200
        page = client.get("/").text
        assert 'src="/static/vendor/htmx.min.js"' in page
        docs = client.get("/docs").text
        assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs
        assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
        for html in (page, docs):
            assert not re.search(r"(src|href)=[\"']https?://", html)

    def test_openapi_describes_the_api(self, client: TestClient) -> None:
        spec = client.get("/api/v1/openapi.json").json()
        assert "/api/v1/readers" in spec["paths"] and "/api/v1/branches/tree" in spec["paths"]


class TestLogs:
    def test_access_log_has_no_query_strings(
        self, session: Session, client: TestClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        make_network(session)
        make_staff(session, roles=["circulation"], username="desk5")
        _login(client, "staff", "desk5")
        with caplog.at_level(logging.INFO, logger="shulian.access"):
            r = client.get("/staff/readers", params={"q": "张无忌"})
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
        lines = [r.getMessage() for r in caplog.records if r.name == "shulian.access"]
        assert any(line.startswith("GET /staff/readers 200") for line in lines)
        assert not any("张无忌" in line or "%E5" in line for line in lines)
