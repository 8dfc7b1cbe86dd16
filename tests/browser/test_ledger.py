"""End to end in headless Chromium: a reader borrows a book at the desk, opens the loan's receipt
from "my library" on a phone, and the browser itself verifies it (signature, leaf hash, inclusion
proof) and shows the loan's terms; one byte changed in the proof, or a checkpoint signed by
another key, and the page says which check failed.

The data is real: the loan is made through the circulation API, the serving process's ledger
worker takes the event in and signs the checkpoint, and the receipt is the one the API gives."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from shulian.ledger.note import Signer
from tests.browser.conftest import LiveServer, OpenPage
from tests.browser.test_catalog import _call, _token
from tests.browser.test_circulation import READER_PASSWORD, _errors, _log_in, _publish
from tests.browser.test_shell import DESKTOP, PHONE, assert_no_horizontal_scroll, shot
from tests.ledger.test_check import RECEIPT_CHECKS

CARD = "R0011"
CHECKS = RECEIPT_CHECKS  # the same ten checks, in the same order, as the API gives


@pytest.fixture(scope="module")
def loan(live_server: LiveServer) -> dict[str, object]:
    """A loan of a fresh title to reader R0011, lent at the desk through the API."""
    _publish(live_server.url, "账本验证之书", ["LEDG0001"])
    desk = _token(live_server.url, "desk")
    made: dict[str, object] = _call(
        f"{live_server.url}/api/v1/circulation/checkouts",
        {"barcode": "LEDG0001", "card": CARD},
        desk,
    )
    return made


def _check(page: Page, name: str):  # type: ignore[no-untyped-def]
    return page.locator(f'[data-testid=check][data-check="{name}"]')


def _verified_receipt(page: Page, loan: dict[str, object]) -> str:
    """Log in as the reader, open the loan's receipt from my library; it verifies. Returns the
    receipt as the page loaded it."""
    page.goto("/login?next=/me")
    _log_in(page, CARD, READER_PASSWORD)
    expect(page).to_have_url(re.compile(r"/me$"))
    row = page.get_by_test_id("loan").filter(has_text="账本验证之书")
    row.get_by_test_id("receipt").click()
    expect(page).to_have_url(re.compile(rf"/ledger/verify\?loan={loan['id']}$"))
    # The worker signs a checkpoint every few seconds; the page waits for it.
    expect(page.get_by_test_id("verify-verdict")).to_have_attribute(
        "data-ok", "true", timeout=40_000
    )
    return page.get_by_test_id("verify-input").input_value()


@pytest.mark.browser
def test_phone_reader_verifies_a_loan_receipt_in_the_browser(
    open_page: OpenPage, loan: dict[str, object], artifacts: Path
) -> None:
    page = open_page(PHONE)
    problems = _errors(page)
    receipt = json.loads(_verified_receipt(page, loan))
    assert receipt["event_seq"] == loan["event_seq"]
    expect(page.get_by_test_id("verify-verdict")).to_have_text("全部检查通过。")
    expect(page.get_by_test_id("verify-where")).to_contain_text("已在您的浏览器中检查")
    checks = page.get_by_test_id("check")
    expect(checks).to_have_count(len(CHECKS))
    assert [checks.nth(i).get_attribute("data-check") for i in range(len(CHECKS))] == CHECKS
    expect(page.locator('[data-testid=check][data-ok="false"]')).to_have_count(0)
    expect(_check(page, "signature")).to_contain_text("Ed25519 签名验证通过")
    expect(_check(page, "inclusion")).to_contain_text(
        f"叶子 {receipt['proof']['index']} 在已签名的 {receipt['proof']['tree_size']} 片叶子的树中"
    )
    event = page.get_by_test_id("verify-event")
    expect(event).to_contain_text("circulation.loan.checked_out")
    expect(event).to_contain_text("reader:~")  # the reader under a pseudonym
    expect(page.get_by_test_id("verify-terms")).to_contain_text("借期（天）")
    assert_no_horizontal_scroll(page, PHONE["width"])
    shot(page, artifacts, "phone-ledger-receipt")
    assert problems == []


@pytest.mark.browser
def test_one_byte_of_the_proof_or_another_key_and_the_page_says_what_failed(
    open_page: OpenPage, loan: dict[str, object], live_server: LiveServer, artifacts: Path
) -> None:
    page = open_page(DESKTOP)
    problems = _errors(page)
    receipt = json.loads(_verified_receipt(page, loan))
    box = page.get_by_test_id("verify-input")
    verdict = page.get_by_test_id("verify-verdict")

    assert receipt["proof"]["proof"], "the demo's tree has more than one leaf"
    tampered = json.loads(json.dumps(receipt))
    first = tampered["proof"]["proof"][0]
    tampered["proof"]["proof"][0] = first[:10] + ("1" if first[10] == "0" else "0") + first[11:]
    box.fill(json.dumps(tampered, indent=2))
    page.get_by_test_id("verify-run").click()
    expect(verdict).to_have_attribute("data-ok", "false")
    expect(verdict).to_have_text("验证未通过：包含证明。")
    expect(_check(page, "inclusion")).to_have_attribute("data-ok", "false")
    expect(_check(page, "inclusion")).to_contain_text("根哈希不符：证明推不出已签名的根哈希")
    expect(page.locator('[data-testid=check][data-ok="false"]')).to_have_count(1)
    shot(page, artifacts, "desktop-ledger-tampered-proof")

    # The same checkpoint text, signed by someone else under the library's name.
    key = page.get_by_test_id("verify-key").input_value()
    origin = key.split("+")[0]
    text = receipt["checkpoint"].split("\n\n")[0] + "\n"
    forged = Signer.generate(origin).sign(text)
    box.fill(forged)
    page.get_by_test_id("verify-run").click()
    expect(verdict).to_have_text("验证未通过：签名。")
    expect(_check(page, "signature")).to_contain_text("公钥不对：第 5 行的签名公钥哈希为")
    expect(page.get_by_test_id("check")).to_have_count(5)

    # The genuine checkpoint against another library's key: wrong key, in English this time.
    page.get_by_test_id("lang-en").click()
    expect(page).to_have_url(re.compile(r"/ledger/verify$"))
    page.get_by_test_id("verify-latest").click()
    expect(verdict).to_have_text("All checks passed.")
    other = Signer.generate("east.library.example/ledger").verifier.vkey
    page.get_by_test_id("verify-key").fill(other)
    page.get_by_test_id("verify-run").click()
    expect(verdict).to_have_text("Verification failed: Origin, Signature.")
    expect(_check(page, "signature")).to_contain_text(
        "wrong key: no signature by east.library.example/ledger (signed by "
    )
    expect(_check(page, "origin")).to_contain_text("wrong key: the checkpoint's origin")
    shot(page, artifacts, "desktop-ledger-wrong-key")
    assert problems == []


@pytest.mark.browser
def test_auditor_explores_checkpoints_and_the_loans_proof(
    open_page: OpenPage, loan: dict[str, object], artifacts: Path
) -> None:
    page = open_page(DESKTOP)
    problems = _errors(page)
    page.goto("/login?next=/staff/ledger")
    _log_in(page, "admin", "shulian-demo", kind="staff")
    expect(page).to_have_url(re.compile(r"/staff/ledger$"))
    expect(page.get_by_test_id("checkpoint-row").first).to_be_visible()
    page.get_by_test_id("lookup-number").fill(str(loan["event_seq"]))
    page.get_by_test_id("lookup-submit").click()
    # The worker may not have signed this loan yet on a fast run: look again until it has.
    for _ in range(20):
        if page.get_by_test_id("checks-verdict").count():
            break
        page.wait_for_timeout(1000)
        page.reload()
    expect(page.get_by_test_id("lookup-seq")).to_have_text(str(loan["event_seq"]))
    expect(page.get_by_test_id("checks-verdict")).to_have_text("全部检查通过。")
    expect(page.get_by_test_id("lookup-leaf")).to_contain_text(
        '"type":"circulation.loan.checked_out"'
    )
    expect(page.get_by_test_id("ledger-audit")).to_contain_text("最近一次审计")
    shot(page, artifacts, "desktop-staff-ledger")
    page.get_by_test_id("verify-in-browser").click()
    expect(page.get_by_test_id("verify-verdict")).to_have_attribute("data-ok", "true")
    assert problems == []
