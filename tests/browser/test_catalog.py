"""End to end in headless Chromium on a phone: find a book by its pinyin initials from the home
page and see which shelf it is on; the scan page loads its barcode reader cleanly."""

from __future__ import annotations

import json
import re
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, OpenPage
from tests.browser.test_shell import PHONE, assert_no_horizontal_scroll, shot

PASSWORD = "shulian-demo"


def _call(url: str, body: dict[str, Any] | None = None, token: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    method = "POST" if data else "GET"
    req = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
    with urllib.request.urlopen(req, timeout=10) as response:  # noqa: S310
        return json.loads(response.read() or b"null")


def _token(base: str, account: str) -> str:
    body = {"kind": "staff", "account": account, "password": PASSWORD}
    token: str = _call(f"{base}/api/v1/auth/token", body)["access_token"]
    return token


@pytest.fixture(scope="module")
def kuangren(live_server: LiveServer) -> int:
    """狂人日记 with a copy on a shelf of the central library, published and indexed."""
    base = live_server.url
    cat, rev, pub = (_token(base, a) for a in ("cataloguer", "reviewer", "publisher"))
    record = {
        "title": "狂人日记",
        "contributors": [{"name": "鲁迅", "role": "author"}],
        "publisher": "人民文学出版社",
        "year": 1973,
        "language": "chi",
        "clc": "I210.6",
    }
    rid: int = _call(f"{base}/api/v1/catalog/records", record, cat)["id"]
    item = {"barcode": "BRW0001", "branch": "CEN", "floor": "3F", "shelf_range": "12",
            "shelf": "4", "layer": 2}  # fmt: skip
    _call(f"{base}/api/v1/catalog/records/{rid}/items", item, cat)
    _call(f"{base}/api/v1/catalog/records/{rid}/submit", {}, cat)
    _call(f"{base}/api/v1/catalog/records/{rid}/approve", {"comment": ""}, rev)
    _call(f"{base}/api/v1/catalog/records/{rid}/publish", {}, pub)
    deadline = time.monotonic() + 20
    query = urllib.parse.urlencode({"q": "krrj"})
    while not _call(f"{base}/api/v1/search?{query}")["hits"]:
        assert time.monotonic() < deadline, "the search worker never indexed the record"
        time.sleep(0.3)
    return rid


@pytest.mark.browser
def test_phone_finds_a_book_by_pinyin_and_sees_its_shelf(
    open_page: OpenPage, kuangren: int, artifacts: Path
) -> None:
    page = open_page(PHONE)
    page.goto("/")
    box = page.get_by_test_id("search-input")
    box.fill("krrj")
    expect(page.get_by_test_id("suggestions").get_by_role("link", name="狂人日记")).to_be_visible()
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/search\?q=krrj"))
    hit = page.get_by_test_id("hit-title").filter(has_text="狂人日记")
    expect(hit).to_be_visible()
    assert_no_horizontal_scroll(page, PHONE["width"])
    shot(page, artifacts, "phone-search-krrj")
    hit.click()
    expect(page).to_have_url(re.compile(rf"/records/{kuangren}$"))
    expect(page.get_by_test_id("record-title")).to_have_text("狂人日记")
    expect(page.get_by_test_id("shelf-location").first).to_have_text("3F 12排 4架 2层")
    expect(page.get_by_test_id("holdings")).to_contain_text("在架")
    assert_no_horizontal_scroll(page, PHONE["width"])
    shot(page, artifacts, "phone-record")


@pytest.mark.browser
def test_scan_page_loads_the_barcode_reader_without_errors(
    open_page: OpenPage, kuangren: int, artifacts: Path
) -> None:
    page: Page = open_page(PHONE)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto("/scan")
    page.wait_for_load_state("load")
    assert page.evaluate("typeof window.ZXingBrowser.BrowserMultiFormatReader") == "function"
    expect(page.get_by_test_id("scan-start")).to_be_visible()
    assert_no_horizontal_scroll(page, PHONE["width"])
    shot(page, artifacts, "phone-scan")
    page.get_by_test_id("scan-code").fill("BRW0001")
    page.get_by_test_id("scan-code").press("Enter")
    expect(page).to_have_url(re.compile(rf"/records/{kuangren}$"))
    assert problems == []
