"""End to end in headless Chromium: a librarian lends and takes back at the desk (green or red, a
sound for each, muted on request); a reader on a phone places a hold from a book's page and
renews a loan from "my library"."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, OpenPage
from tests.browser.test_catalog import _call, _token
from tests.browser.test_shell import DESKTOP, PHONE, assert_no_horizontal_scroll, shot

READER_PASSWORD = "reader-demo"  # the demo library's published reader password
GREEN = "rgb(31, 122, 58)"  # --ok
RED = "rgb(179, 38, 30)"  # --bad


def _publish(base: str, title: str, barcodes: list[str]) -> int:
    cat, rev, pub = (_token(base, a) for a in ("cataloguer", "reviewer", "publisher"))
    record = {"title": title, "language": "chi", "year": 2020, "clc": "I247.5"}
    rid: int = _call(f"{base}/api/v1/catalog/records", record, cat)["id"]
    for barcode in barcodes:
        item = {"barcode": barcode, "branch": "B01", "floor": "2F", "shelf_range": "3"}
        _call(f"{base}/api/v1/catalog/records/{rid}/items", item, cat)
    _call(f"{base}/api/v1/catalog/records/{rid}/submit", {}, cat)
    _call(f"{base}/api/v1/catalog/records/{rid}/approve", {"comment": ""}, rev)
    _call(f"{base}/api/v1/catalog/records/{rid}/publish", {}, pub)
    return rid


@pytest.fixture(scope="module")
def books(live_server: LiveServer) -> dict[str, int]:
    """Two titles at the East District Branch (B01), where the demo's desk librarian works."""
    base = live_server.url
    return {
        "lend": _publish(base, "借阅测试之书", ["CIRA0001", "CIRA0002"]),
        "hold": _publish(base, "预约测试之书", ["CIRB0001"]),
    }


def _errors(page: Page) -> list[str]:
    """Script errors on the page. A refusal answers with its status (409, 404...), which the
    browser logs as a failed resource: that is the desk working, not a problem."""
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


def _log_in(page: Page, account: str, password: str, kind: str = "reader") -> None:
    page.locator(f'input[name="kind"][value="{kind}"]').check()
    page.locator('input[name="account"]').fill(account)
    page.locator('input[name="password"]').fill(password)
    page.get_by_test_id("login-submit").click()


@pytest.mark.browser
def test_desk_lends_then_takes_back_with_green_and_red(
    open_page: OpenPage, books: dict[str, int], artifacts: Path
) -> None:
    page = open_page(DESKTOP)
    problems = _errors(page)
    page.goto("/login?next=/staff/scan")
    _log_in(page, "desk", "shulian-demo", kind="staff")
    expect(page).to_have_url(re.compile(r"/staff/scan$"))
    page.get_by_test_id("reader-code").fill("R0009")
    page.get_by_test_id("reader-code").press("Enter")
    expect(page).to_have_url(re.compile(r"/staff/desk/readers/\d+\?branch=B01$"))
    expect(page.get_by_test_id("desk-card")).to_have_text("R0009")

    box = page.get_by_test_id("item-barcode")
    box.fill("CIRA0001")
    box.press("Enter")
    latest = page.get_by_test_id("desk-result").first
    expect(latest).to_have_attribute("data-outcome", "ok")
    expect(latest).to_contain_text("已借出: 借阅测试之书")
    expect(latest).to_have_css("background-color", GREEN)
    expect(page.locator("html")).to_have_attribute("data-desk-sound", "ok")
    expect(page.get_by_test_id("desk-loans")).to_contain_text("CIRA0001")  # account redrawn
    expect(box).to_have_value("")
    expect(box).to_be_focused()

    box.fill("CIRA0001")  # the same copy again: refused, with the domain's reason
    box.press("Enter")
    expect(page.get_by_test_id("desk-result")).to_have_count(2)
    expect(latest).to_have_attribute("data-outcome", "refused")
    expect(latest).to_contain_text("图书 CIRA0001 已被借出")
    expect(latest).to_have_css("background-color", RED)
    expect(page.locator("html")).to_have_attribute("data-desk-sound", "refused")
    shot(page, artifacts, "desk-checkout")

    page.get_by_test_id("mute").click()
    expect(page.get_by_test_id("mute")).to_have_attribute("aria-pressed", "true")
    page.get_by_test_id("tab-return").click()
    expect(page).to_have_url(re.compile(r"/staff/desk/checkin"))
    back = page.get_by_test_id("return-barcode")
    back.fill("CIRA0001")
    back.press("Enter")
    latest = page.get_by_test_id("desk-result").first
    expect(latest).to_have_attribute("data-outcome", "ok")
    expect(latest.get_by_test_id("destination")).to_contain_text("归架")
    expect(page.locator("html")).to_have_attribute("data-desk-sound", "muted")
    shot(page, artifacts, "desk-checkin")
    assert problems == []


@pytest.mark.browser
def test_phone_reader_places_a_hold_and_renews_from_my_library(
    open_page: OpenPage, books: dict[str, int], live_server: LiveServer, artifacts: Path
) -> None:
    desk = _token(live_server.url, "desk")
    _call(
        f"{live_server.url}/api/v1/circulation/checkouts",
        {"barcode": "CIRA0002", "card": "R0010"},
        desk,
    )
    page = open_page(PHONE)
    problems = _errors(page)
    page.goto(f"/records/{books['hold']}")
    page.get_by_test_id("login-to-hold").click()
    _log_in(page, "R0010", READER_PASSWORD)
    expect(page).to_have_url(re.compile(rf"/records/{books['hold']}#hold$"))
    page.get_by_test_id("pickup-branch").select_option("B01")
    assert_no_horizontal_scroll(page, PHONE["width"])
    page.get_by_test_id("place-hold").click()

    expect(page).to_have_url(re.compile(r"/me\?done=hold_placed#holds$"))
    expect(page.get_by_test_id("done")).to_contain_text("预约成功")
    hold = page.get_by_test_id("hold").filter(has_text="预约测试之书")
    expect(hold.get_by_test_id("hold-status")).to_have_text("排队第 1 位")

    loan = page.get_by_test_id("loan").filter(has_text="借阅测试之书")
    expect(loan.get_by_test_id("due")).to_contain_text("应还日期")
    loan.get_by_test_id("renew").click()
    expect(page).to_have_url(re.compile(r"/me\?renewed=CIRA0002#loans$"))
    renewed = page.get_by_test_id("loan").filter(has_text="借阅测试之书")
    expect(renewed.get_by_test_id("renewed")).to_contain_text("已续借，新的应还日期为")
    expect(renewed).to_contain_text("还可续借 1 次")
    assert_no_horizontal_scroll(page, PHONE["width"])
    shot(page, artifacts, "phone-my-library")
    assert problems == []
