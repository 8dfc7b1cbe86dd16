"""What belongs to no domain: the home page and the language switch, the error pages, health,
local assets, the API description and the access log."""

from __future__ import annotations

import logging
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.accounts import make_staff
from tests.factories.consortium import make_network
from tests.web.helpers import post_login


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
        assert r.json() == {
            "error": "NotFound",
            "detail": "Page not found",
            "message": "页面不存在",
        }


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
        post_login(client, "staff", "desk5")
        with caplog.at_level(logging.INFO, logger="shulian.access"):
            r = client.get("/staff/readers", params={"q": "张无忌"})
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
        lines = [r.getMessage() for r in caplog.records if r.name == "shulian.access"]
        assert any(line.startswith("GET /staff/readers 200") for line in lines)
        assert not any("张无忌" in line or "%E5" in line for line in lines)
