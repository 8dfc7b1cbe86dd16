"""What protects a logged-in browser: changes only from our own pages (exact origin, else the
form token), the protective headers, and who the client is behind a proxy we trust."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import shulian
from shulian.api import create_app
from shulian.core.config import Settings, load_settings
from shulian.core.errors import ConfigurationError
from tests.conftest import NOW, ORIGIN
from tests.factories.accounts import PASSWORD, bearer, make_reader, make_staff
from tests.factories.consortium import make_network
from tests.web.helpers import login, shown

TEMPLATES = Path(shulian.__file__).parent / "web" / "templates"
REFUSED = "此请求并非来自本馆自己的页面，已被拒绝；请刷新页面后重试"


def logged_in_reader(session: Session, client: TestClient, card: str = "PR1") -> None:
    make_network(session)
    make_reader(session, card=card)
    login(client, "reader", card)


def still_logged_in(client: TestClient) -> bool:
    return client.get("/me", headers={"Origin": ORIGIN}, follow_redirects=False).status_code == 200


def without_origin(app: FastAPI, client: TestClient) -> TestClient:
    """The same browser, as one that sends no ``Origin`` (older ones, privacy add-ons)."""
    bare = TestClient(app, base_url="http://testserver")
    bare.cookies = client.cookies
    return bare


class TestChangesComeFromOurPages:
    @pytest.mark.parametrize(
        "origin",
        [
            "https://evil.example",
            "null",  # a sandboxed frame, a data: page, a redirect from another site
            "https://testserver",  # our host, another scheme
            "http://testserver:8080",  # our host, another port
            "http://testserver.evil.example",
        ],
    )
    def test_a_change_from_elsewhere_is_refused_and_changes_nothing(
        self, session: Session, client: TestClient, origin: str
    ) -> None:
        logged_in_reader(session, client)
        r = client.post("/logout", headers={"Origin": origin}, follow_redirects=False)
        assert r.status_code == 403 and shown(r, "error-message") == REFUSED
        assert r.headers["content-security-policy"].endswith("frame-ancestors 'none'")
        assert still_logged_in(client)

    def test_our_own_origin_passes_with_or_without_default_port(
        self, session: Session, client: TestClient
    ) -> None:
        logged_in_reader(session, client)
        r = client.post(
            "/logout", headers={"Origin": "HTTP://TESTSERVER:80"}, follow_redirects=False
        )
        assert r.status_code == 303 and not still_logged_in(client)

    def test_a_cross_site_login_form_is_refused(self, session: Session, client: TestClient) -> None:
        make_network(session)
        make_reader(session, card="PR2")
        r = client.post(
            "/login",
            data={"kind": "reader", "account": "PR2", "password": PASSWORD},
            headers={"Origin": "https://evil.example"},
        )
        assert r.status_code == 403 and "shulian_session" not in r.headers.get("set-cookie", "")

    def test_without_origin_a_change_needs_the_form_token(
        self, session: Session, app: FastAPI, client: TestClient
    ) -> None:
        logged_in_reader(session, client)
        bare = without_origin(app, client)
        refused = bare.post("/logout", follow_redirects=False)
        assert refused.status_code == 403 and shown(refused, "error-message") == REFUSED
        wrong = bare.post("/logout", data={"csrf_token": "0" * 64}, follow_redirects=False)
        assert wrong.status_code == 403 and still_logged_in(client)
        token = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', bare.get("/me").text)
        assert token, "our pages put the form token in every form"
        r = bare.post("/logout", data={"csrf_token": token.group(1)}, follow_redirects=False)
        assert r.status_code == 303 and not still_logged_in(client)

    def test_htmx_requests_carry_the_token_in_a_header(
        self, session: Session, app: FastAPI, client: TestClient
    ) -> None:
        logged_in_reader(session, client)
        bare = without_origin(app, client)
        found = re.search(
            r"<body hx-headers='\{\"X-CSRF-Token\": \"(\w+)\"\}'>", bare.get("/me").text
        )
        assert found, "htmx sends the token from the body's hx-headers"
        r = bare.post("/me/history", data={"keep": "on"}, headers={"X-CSRF-Token": found.group(1)})
        assert r.status_code == 200

    def test_a_browser_saying_cross_site_without_origin_is_refused(
        self, session: Session, app: FastAPI, client: TestClient
    ) -> None:
        logged_in_reader(session, client)
        r = without_origin(app, client).post("/logout", headers={"Sec-Fetch-Site": "cross-site"})
        assert r.status_code == 403 and still_logged_in(client)

    def test_bearer_token_calls_need_neither_origin_nor_form_token(
        self, session: Session, app: FastAPI
    ) -> None:
        make_network(session)
        make_reader(session, card="PR3")
        api = TestClient(app, base_url="http://testserver")
        token = bearer(api, "reader", "PR3")
        assert api.post("/api/v1/auth/logout", headers=token).status_code == 204
        again = bearer(api, "reader", "PR3")
        other = {**again, "Origin": "https://partner-app.example"}
        assert api.post("/api/v1/auth/logout", headers=other).status_code == 204

    def test_a_page_login_calling_the_api_from_elsewhere_is_refused(
        self, session: Session, client: TestClient
    ) -> None:
        logged_in_reader(session, client)
        r = client.post("/api/v1/auth/logout-everywhere", headers={"Origin": "null"})
        assert r.status_code == 403 and r.json()["error"] == "CrossOriginRequest"
        assert r.json()["message"] == REFUSED
        assert still_logged_in(client)


class TestOurPagesNeedNoInlineScript:
    def test_every_form_that_posts_carries_the_form_token(self) -> None:
        for path in TEMPLATES.rglob("*.html"):
            text = path.read_text()
            for form in re.finditer(r'<form[^>]*method="post"[^>]*>', text):
                following = text[form.end() : form.end() + 80].lstrip()
                assert following.startswith("{{ csrf_field }}"), f"{path.name}: {form.group(0)}"

    def test_no_inline_script_event_handler_or_style_in_the_templates(self) -> None:
        for path in TEMPLATES.rglob("*.html"):
            text = path.read_text()
            for script in re.finditer(r"<script\b([^>]*)>", text):
                attrs = script.group(1)
                assert "src=" in attrs or 'type="application/json"' in attrs, path.name
            assert not re.search(r"\son[a-z]+\s*=", text), f"inline handler in {path.name}"
            assert not re.search(r"\sstyle\s*=", text), f"inline style in {path.name}"
            assert "javascript:" not in text, path.name

    def test_the_api_documentation_starts_from_a_file(self, client: TestClient) -> None:
        page = client.get("/docs")
        scripts = re.findall(r"<script\b([^>]*)>", page.text)
        assert scripts and all("src=" in attrs for attrs in scripts)
        assert client.get("/static/swagger-init.js").status_code == 200


class TestHeaders:
    def test_pages_forbid_framing_and_inline_script_and_are_not_stored(
        self, session: Session, client: TestClient
    ) -> None:
        logged_in_reader(session, client)
        for path in ("/", "/me", "/staff/scan", "/docs", "/ledger/verify"):
            r = client.get(path, follow_redirects=False)
            csp = r.headers["content-security-policy"]
            assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp, path
            assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
            assert r.headers["x-frame-options"] == "DENY"
            assert r.headers["cache-control"] == "no-store", path

    def test_personal_api_answers_are_not_stored_and_static_files_may_be(
        self, session: Session, client: TestClient
    ) -> None:
        make_network(session)
        make_reader(session, card="PR4")
        me = client.get("/api/v1/me/reader", headers=bearer(client, "reader", "PR4"))
        assert me.status_code == 200 and me.headers["cache-control"] == "no-store"
        css = client.get("/static/app.css")
        assert "cache-control" not in css.headers and css.headers["x-content-type-options"]


@pytest.fixture
def proxied(
    settings: Settings, engine: Engine, session_factory: sessionmaker[Session]
) -> Callable[..., TestClient]:
    """A client whose connections come from ``peer``, to an app trusting ``trusted``."""

    def make(*, peer: str, trusted: str = "10.0.0.0/8", **changes: object) -> TestClient:
        app = create_app(
            settings.model_copy(update={"trusted_proxies": trusted, **changes}),
            engine=engine,
            clock=lambda: NOW,
        )
        app.state.sessionmaker = app.state.read_sessionmaker = session_factory
        return TestClient(app, base_url="http://testserver", client=(peer, 40000))

    return make


HTTPS_PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}


class TestBehindAProxy:
    def test_a_trusted_proxy_says_https_and_who_the_client_is(
        self, session: Session, proxied: Callable[..., TestClient]
    ) -> None:
        make_network(session)
        make_reader(session, card="PX1")
        client = proxied(peer="10.0.0.2")
        form = {"kind": "reader", "account": "PX1", "password": PASSWORD}
        headers = {**HTTPS_PROXY, "Origin": "https://library.example", "Host": "library.example"}
        r = client.post("/login", data=form, headers=headers, follow_redirects=False)
        assert r.status_code == 303 and "; secure" in r.headers["set-cookie"].lower()
        # The browser sends it back over HTTPS (this test client talks plain HTTP to the app).
        client.cookies.clear()
        client.cookies.set("shulian_session", r.cookies["shulian_session"])
        page = client.get("/me/sessions", headers=headers)
        assert "来自 203.0.113.9" in page.text
        # The http:// origin of the same host is another origin behind this proxy.
        plain = {**headers, "Origin": "http://library.example"}
        assert client.post("/logout", headers=plain).status_code == 403
        assert client.get("/me", headers=headers, follow_redirects=False).status_code == 200

    def test_forwarded_headers_from_anyone_else_are_ignored(
        self, session: Session, proxied: Callable[..., TestClient]
    ) -> None:
        make_network(session)
        make_reader(session, card="PX2")
        client = proxied(peer="192.0.2.50")
        form = {"kind": "reader", "account": "PX2", "password": "wrong"}
        # Claiming to be a new address each time does not dodge the throttle.
        codes = [
            client.post(
                "/api/v1/auth/token",
                json=form,
                headers={"X-Forwarded-For": f"198.51.100.{n}"},
            ).status_code
            for n in range(6)
        ]
        assert codes == [401] * 5 + [429]
        r = client.post(
            "/login",
            data={**form, "account": "PX2", "password": PASSWORD},
            headers={**HTTPS_PROXY, "Origin": "https://testserver"},
        )
        assert r.status_code == 403  # not https: the claimed scheme is not believed

    def test_secure_cookies_can_be_forced(
        self, session: Session, proxied: Callable[..., TestClient]
    ) -> None:
        make_network(session)
        make_staff(session, roles=[], username="px3")
        client = proxied(peer="192.0.2.50", secure_cookies=True)
        r = client.post(
            "/login",
            data={"kind": "staff", "account": "px3", "password": PASSWORD},
            headers={"Origin": "http://testserver"},
            follow_redirects=False,
        )
        assert "; secure" in r.headers["set-cookie"].lower()

    def test_a_malformed_trusted_proxies_setting_is_named(self) -> None:
        with pytest.raises(ConfigurationError, match=r"SHULIAN_TRUSTED_PROXIES: .*'10\.0\.0\.300'"):
            load_settings(trusted_proxies="127.0.0.1, 10.0.0.300")
        assert load_settings(trusted_proxies="10.0.0.1/8, ::1").trusted_proxies == "10.0.0.0/8,::1"
