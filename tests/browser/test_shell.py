"""End to end in headless Chromium: the page shell (language, login, logout, errors) as a reader
or a librarian sees it on a phone and on a desk computer."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}

OpenPage = Callable[[dict[str, int]], Page]


def assert_no_horizontal_scroll(page: Page, width: int) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} is {scroll_width}px wide on a {width}px screen"


def shot(page: Page, artifacts: Path, name: str) -> None:
    page.screenshot(path=artifacts / f"{name}.png", full_page=True)


def log_in(page: Page, *, kind: str, account: str, password: str) -> None:
    page.goto("/login")
    page.locator(f'input[name="kind"][value="{kind}"]').check()
    page.locator('input[name="account"]').fill(account)
    page.locator('input[name="password"]').fill(password)
    page.get_by_test_id("login-submit").click()


@pytest.mark.browser
def test_phone_home_is_chinese_and_the_language_switch_sticks(
    open_page: OpenPage, artifacts: Path
) -> None:
    page = open_page(PHONE)
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_test_id("login-link")).to_have_text("登录")
    assert_no_horizontal_scroll(page, PHONE["width"])
    shot(page, artifacts, "phone-home-zh")

    page.get_by_test_id("lang-en").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("login-link")).to_have_text("Log in")
    assert_no_horizontal_scroll(page, PHONE["width"])
    shot(page, artifacts, "phone-home-en")

    page.get_by_role("link", name="Branches", exact=True).click()
    expect(page).to_have_url(re.compile(r"/branches$"))
    expect(page.get_by_test_id("login-link")).to_have_text("Log in")
    assert_no_horizontal_scroll(page, PHONE["width"])
    shot(page, artifacts, "phone-branches-en")

    page.get_by_test_id("lang-zh-CN").click()
    expect(page).to_have_url(re.compile(r"/branches$"))
    expect(page.get_by_test_id("login-link")).to_have_text("登录")
    expect(page.get_by_test_id("lang-en")).to_be_visible()


@pytest.mark.browser
def test_staff_logs_in_switches_language_and_logs_out(open_page: OpenPage, artifacts: Path) -> None:
    page = open_page(DESKTOP)
    log_in(page, kind="staff", account="admin", password="shulian-demo")
    expect(page).to_have_url(re.compile(r"/staff$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("馆员工作台")
    expect(page.get_by_test_id("who")).to_have_text("系统管理员")
    expect(page.get_by_test_id("login-link")).to_have_count(0)
    shot(page, artifacts, "desktop-staff-zh")

    page.get_by_test_id("lang-en").click()
    expect(page).to_have_url(re.compile(r"/staff$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Staff workspace")
    expect(page.get_by_test_id("who")).to_have_text("系统管理员")
    expect(page.get_by_test_id("logout")).to_have_text("Log out")
    shot(page, artifacts, "desktop-staff-en")

    page.get_by_test_id("logout").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_test_id("login-link")).to_be_visible()
    expect(page.get_by_test_id("who")).to_have_count(0)

    page.goto("/staff")
    expect(page).to_have_url(re.compile(r"/login\?next=(/|%2F)staff$"))
    expect(page.get_by_test_id("login-submit")).to_be_visible()


@pytest.mark.browser
def test_reader_sees_card_and_qr_code_on_a_phone(open_page: OpenPage, artifacts: Path) -> None:
    page = open_page(PHONE)
    page.goto("/login")
    expect(page.locator('input[name="kind"][value="reader"]')).to_be_checked()
    log_in(page, kind="reader", account="R0001", password="reader-demo")
    expect(page).to_have_url(re.compile(r"/me$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("我的图书馆")
    expect(page.get_by_test_id("card-number")).to_have_text("R0001")
    qr = page.locator("#qr svg")
    expect(qr).to_have_count(1)
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box is not None
    assert box["width"] >= 150, f"the QR code is only {box['width']}px wide"
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]
    assert_no_horizontal_scroll(page, PHONE["width"])
    shot(page, artifacts, "phone-reader-me")


@pytest.mark.browser
def test_wrong_password_and_unknown_account_get_the_same_message(
    open_page: OpenPage, artifacts: Path
) -> None:
    page = open_page(PHONE)
    log_in(page, kind="reader", account="R0002", password="not-the-password")
    expect(page.get_by_test_id("login-error")).to_have_text("账号或密码错误")
    expect(page.locator('input[name="account"]')).to_have_value("R0002")
    expect(page.get_by_test_id("login-link")).to_be_visible()
    assert_no_horizontal_scroll(page, PHONE["width"])
    shot(page, artifacts, "phone-login-error")

    log_in(page, kind="reader", account="R9999", password="reader-demo")
    expect(page.get_by_test_id("login-error")).to_have_text("账号或密码错误")

    log_in(page, kind="staff", account="nobody", password="shulian-demo")
    expect(page.get_by_test_id("login-error")).to_have_text("账号或密码错误")
    expect(page.locator('input[name="kind"][value="staff"]')).to_be_checked()


@pytest.mark.browser
def test_unknown_path_shows_a_translated_404_page(open_page: OpenPage, artifacts: Path) -> None:
    page = open_page(DESKTOP)
    response = page.goto("/no-such-page")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_test_id("error-message")).to_have_text("页面不存在")
    shot(page, artifacts, "desktop-404-zh")

    page.get_by_test_id("lang-en").click()
    expect(page).to_have_url(re.compile(r"/no-such-page$"))
    expect(page.get_by_test_id("error-message")).to_have_text("Page not found")
    expect(page.get_by_role("link", name="Back to the home page")).to_be_visible()
