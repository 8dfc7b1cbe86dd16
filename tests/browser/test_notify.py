"""End to end in headless Chromium: a reader sets how notices reach them on a phone; a branch
manager reads the notice outbox on a phone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.test_shell import PHONE, OpenPage, assert_no_horizontal_scroll, log_in, shot


@pytest.mark.browser
def test_phone_reader_chooses_english_notices_by_sms(open_page: OpenPage, artifacts: Path) -> None:
    page = open_page(PHONE)
    log_in(page, kind="reader", account="R0002", password="reader-demo")
    expect(page).to_have_url(re.compile(r"/me$"))
    section = page.get_by_test_id("my-notices")
    expect(section.get_by_role("heading")).to_have_text("通知")
    page.get_by_test_id("notice-webhook").check()
    page.get_by_test_id("notice-language").select_option("en")
    page.get_by_test_id("save-notices").click()
    expect(page.get_by_test_id("done")).to_have_text("通知设置已保存。")
    expect(page.get_by_test_id("notice-webhook")).to_be_checked()
    expect(page.get_by_test_id("notice-language")).to_have_value("en")
    assert_no_horizontal_scroll(page, PHONE["width"])
    shot(page, artifacts, "phone-reader-notices")


@pytest.mark.browser
def test_phone_branch_manager_reads_the_outbox(open_page: OpenPage, artifacts: Path) -> None:
    page = open_page(PHONE)
    log_in(page, kind="staff", account="manager", password="shulian-demo")
    page.get_by_test_id("outbox-link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("通知发件箱")
    expect(page.get_by_test_id("outbox-filter")).to_be_visible()
    assert_no_horizontal_scroll(page, PHONE["width"])
    shot(page, artifacts, "phone-staff-outbox")
