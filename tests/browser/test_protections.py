"""In Chromium: a page of another origin that submits forms to ours while a reader or a
librarian is logged in is refused, our own forms keep working, a copied cookie is worthless
after logout, and the main pages run under the Content-Security-Policy without a violation."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from tests.browser.conftest import CHROMIUM_ARGS, LiveServer, watch_csp
from tests.servers import OtherSite

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
REFUSED = "此请求并非来自本馆自己的页面，已被拒绝；请刷新页面后重试"

OpenPage = Callable[[dict[str, int]], Page]


def attack_page(action: str, **fields: str) -> str:
    """A page that, once opened, posts a form to ``action`` on its own (the inline script is
    the other site's: our pages' policy does not reach it)."""
    inputs = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in fields.items()
    )
    return (
        "<!doctype html><html><body><h1>Win a prize!</h1>"
        f'<form id="f" method="post" action="{html.escape(action)}">{inputs}</form>'
        '<script>document.getElementById("f").submit();</script></body></html>'
    )


@pytest.fixture(scope="module")
def other_site(live_server: LiveServer) -> Iterator[OtherSite]:
    ours = live_server.url
    pages = {
        "/prize.html": attack_page(f"{ours}/logout"),
        "/everywhere.html": attack_page(f"{ours}/me/sessions/end-all"),
        "/register.html": attack_page(
            f"{ours}/staff/readers",
            card_number="EVIL01",
            name="冒名者",
            category="adult",
            home_branch="CEN",
            expires_on="2030-01-01",
            password="evil-password",
        ),
    }
    with OtherSite(pages, redirects={"/bounce": f"{ours}/logout"}) as site:
        # Posted to the other site first, then sent on to ours: Chromium says Origin: null.
        site.pages["/bounce.html"] = attack_page(f"{site.url}/bounce")
        yield site


def log_in(page: Page, *, kind: str, account: str, password: str, next_: str = "/") -> None:
    page.goto(f"/login?next={next_}")
    page.locator(f'input[name="kind"][value="{kind}"]').check()
    page.locator('input[name="account"]').fill(account)
    page.locator('input[name="password"]').fill(password)
    page.get_by_test_id("login-submit").click()


@pytest.mark.browser
def test_another_sites_forms_are_refused_and_a_copied_cookie_dies_at_logout(
    open_page: OpenPage,
    other_site: OtherSite,
    browser: Browser,
    live_server: LiveServer,
    artifacts: Path,
) -> None:
    page = open_page(PHONE)
    log_in(page, kind="reader", account="R0001", password="reader-demo", next_="/me")
    expect(page.get_by_test_id("card-number")).to_have_text("R0001")

    for attack in ("/prize.html", "/everywhere.html", "/bounce.html"):
        page.goto(other_site.url + attack)
        expect(page.get_by_test_id("error-message")).to_have_text(REFUSED)
        assert page.url.startswith(live_server.url)  # the form did reach us, and was refused
        page.screenshot(path=artifacts / f"phone-cross-site-refused{attack[:-5]}.png")
        page.goto("/me")
        expect(page.get_by_test_id("card-number")).to_have_text("R0001")

    # A copy of the cookie works while the reader is logged in...
    copied = [c for c in page.context.cookies() if c["name"] == "shulian_session"]
    assert copied and copied[0]["httpOnly"] and copied[0]["sameSite"] == "Lax"
    thief = browser.new_context(base_url=live_server.url)
    thief.add_cookies(copied)  # type: ignore[arg-type]
    stolen = thief.new_page()
    stolen.goto("/me")
    expect(stolen.get_by_test_id("card-number")).to_have_text("R0001")
    # ...and not once they log out with our own form.
    page.get_by_test_id("logout").click()
    expect(page.get_by_test_id("login-link")).to_be_visible()
    stolen.goto("/me")
    expect(stolen).to_have_url(re.compile(r"/login\?next=/me$"))
    thief.close()


@pytest.mark.browser
def test_a_librarians_forms_work_and_another_sites_do_not(
    open_page: OpenPage, other_site: OtherSite, artifacts: Path
) -> None:
    page = open_page(DESKTOP)
    log_in(page, kind="staff", account="admin", password="shulian-demo", next_="/staff/readers")
    page.goto(other_site.url + "/register.html")
    expect(page.get_by_test_id("error-message")).to_have_text(REFUSED)
    page.goto("/staff/readers?q=EVIL01")
    expect(page.get_by_text("EVIL01")).to_have_count(0)

    # Our own form, the same change: done.
    page.goto("/staff/readers")
    form = page.locator('form[action="/staff/readers"]')
    form.locator('input[name="card_number"]').fill("OWN01")
    form.locator('input[name="name"]').fill("自家读者")
    form.locator('input[name="expires_on"]').fill("2030-01-01")
    form.get_by_role("button").click()
    expect(page.get_by_test_id("reader-status")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("OWN01")
    # htmx's search box (a GET) and the staff accounts page with its logins.
    page.goto("/staff/readers")
    page.get_by_role("searchbox").fill("OWN0")
    expect(page.locator("#reader-rows")).to_contain_text("自家读者")
    page.goto("/staff/accounts")
    page.get_by_role("link", name="admin", exact=True).click()
    expect(page.get_by_test_id("current")).to_be_visible()
    page.screenshot(path=artifacts / "desktop-staff-account-sessions.png", full_page=True)


@pytest.mark.browser
def test_main_pages_raise_no_policy_violation(open_page: OpenPage, artifacts: Path) -> None:
    """The fixture fails the test on any violation; these are the pages people use most."""
    page = open_page(PHONE)
    for path in ("/", "/search?q=鲁迅", "/branches", "/clc", "/ledger/verify", "/login"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
    page.goto("/search?q=鲁迅")
    sort = page.locator("select[name=sort]")
    if sort.count():
        sort.select_option("newest")  # submits through app.js, not an inline handler
        expect(page).to_have_url(re.compile(r"sort=newest"))
    log_in(page, kind="reader", account="R0002", password="reader-demo", next_="/me")
    expect(page.locator(".qr svg")).to_be_visible()  # the QR card: inline SVG
    page.goto("/me/sessions")
    expect(page.get_by_test_id("current")).to_be_visible()
    page.screenshot(path=artifacts / "phone-my-sessions.png", full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"/me/sessions is {width}px wide on a phone"

    desk = open_page(DESKTOP)
    log_in(desk, kind="staff", account="admin", password="shulian-demo", next_="/staff")
    for path in (
        "/staff",
        "/staff/scan",
        "/staff/readers",
        "/staff/catalog",
        "/staff/rules",
        "/staff/ledger",
        "/staff/notices",
        "/staff/accounts",
        "/me/sessions",
    ):
        response = desk.goto(path)
        assert response is not None and response.status == 200, path
        desk.wait_for_load_state("networkidle")
    desk.goto("/docs")
    expect(desk.locator(".swagger-ui .info .title")).to_contain_text("Shulian")
    desk.locator(".opblock-summary").first.click()  # an operation opens (React, inline styles)
    desk.wait_for_load_state("networkidle")


@pytest.mark.browser
def test_the_barcode_scanner_runs_on_a_camera_under_the_policy(
    playwright_driver: Playwright, chromium_path: str, live_server: LiveServer
) -> None:
    """zxing reading a (fake) camera: getUserMedia, a video element, canvas decoding."""
    browser = playwright_driver.chromium.launch(
        executable_path=chromium_path,
        headless=True,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
        ],
    )
    violations: list[str] = []
    try:
        context = browser.new_context(base_url=live_server.url, permissions=["camera"])
        watch_csp(context, violations)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto("/scan")
        page.locator("#scan-start").click()
        expect(page.locator("#scan-video")).to_be_visible()
        # (Polled from here: Playwright's wait_for_function evaluates a string, which this
        # very policy refuses.)
        for _ in range(100):
            if page.evaluate("() => document.getElementById('scan-video').videoWidth") > 0:
                break
            page.wait_for_timeout(100)
        else:
            pytest.fail("the fake camera's picture never reached the scanner")
        page.wait_for_timeout(1500)  # let the reader decode a few frames
        assert errors == []
    finally:
        browser.close()
    assert violations == []
