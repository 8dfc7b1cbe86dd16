"""Circulation pages: my library (renew, holds, fines, opt-in history), placing a hold from a
record's page, the desk (reader scan, checkout, checkin, payments), the branch lists and the
rules editor with explain and options. Pages are in Simplified Chinese unless switched."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Protocol

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from shulian.circulation import service as circ
from shulian.circulation.errors import (
    AlreadyHeld,
    AlreadyOnLoan,
    FinesOverLimit,
    RenewalBlockedByHolds,
)
from shulian.core import i18n
from tests.conftest import NOW
from tests.factories.accounts import PASSWORD, make_staff
from tests.factories.circulation import Library, make_library

HX = {"HX-Request": "true"}


def login(client: TestClient, kind: str, account: str) -> None:
    r = client.post(
        "/login",
        data={"kind": kind, "account": account, "password": PASSWORD, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def lend(session: Session, lib: Library, barcode: str, *, reader: int | None = None, **kw: object):  # type: ignore[no-untyped-def]
    return circ.check_out(
        session,
        reader_id=reader or lib.reader.id,
        barcode=barcode,
        branch="CEN",
        actor="staff:1",
        now=kw.get("now", NOW),  # type: ignore[arg-type]
    )


def hold(session: Session, lib: Library, reader: int, *, record: int | None = None, pickup="CEN"):  # type: ignore[no-untyped-def]
    return circ.place_hold(
        session,
        reader_id=reader,
        record_id=record or lib.record.id,
        pickup_branch=pickup,
        actor="test",
        now=NOW,
    )


def zh(error: Exception) -> str:
    """The error's message as a Chinese page shows it (and it must differ from the English)."""
    i18n.set_language("zh-CN")
    text: str = error.localized()  # type: ignore[attr-defined]
    assert text != error.detail  # type: ignore[attr-defined]
    return text


class Page(Protocol):
    @property
    def text(self) -> str: ...


def shown(page: Page, name: str) -> str:
    """The text of the element marked ``data-testid=name``, tags removed."""
    found = re.search(rf'<(\w+)[^>]*data-testid="{name}"[^>]*>(.*?)</\1>', page.text, re.S)
    assert found, f"{name} not on the page"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", found.group(2))).strip()


@pytest.fixture
def lib(session: Session) -> Library:
    return make_library(session)


@pytest.fixture
def reader(client: TestClient, lib: Library) -> Library:
    login(client, "reader", lib.reader.card_number)
    return lib


class TestMyLibrary:
    def test_loans_show_due_dates_with_overdue_marked(
        self, session: Session, client: TestClient, reader: Library
    ) -> None:
        lend(session, reader, reader.items[0].barcode, now=NOW - timedelta(days=40))
        lend(session, reader, reader.other_items[0].barcode)
        page = client.get("/me")
        assert page.status_code == 200
        assert "狂人日记" in page.text and "呐喊" in page.text
        assert "已逾期（应还日期 2026-11-11）" in page.text  # 40 days ago + 30 days, local time
        assert "应还日期 2026-12-21" in page.text
        assert page.text.count('class="row overdue"') == 1
        assert "当前罚金 ¥" in page.text  # the overdue loan's fine so far
        assert page.text.count('data-testid="renew"') == 2

    def test_renewal_moves_the_due_date_and_says_so(
        self, session: Session, client: TestClient, reader: Library
    ) -> None:
        barcode = reader.items[0].barcode
        lend(session, reader, barcode, now=NOW - timedelta(days=10))
        r = client.post(f"/me/loans/{barcode}/renew", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/me?renewed={barcode}#loans"
        page = client.get(r.headers["location"])
        assert shown(page, "renewed") == "已续借，新的应还日期为 2026-12-21"
        assert "还可续借 1 次" in page.text

    def test_refused_renewal_shows_the_reason_under_the_loan(
        self, session: Session, client: TestClient, reader: Library
    ) -> None:
        barcode = reader.items[0].barcode
        lend(session, reader, barcode)
        lend(session, reader, reader.items[1].barcode, reader=reader.readers[2].id)
        hold(session, reader, reader.readers[1].id)  # someone waits: no renewal
        r = client.post(f"/me/loans/{barcode}/renew")
        assert r.status_code == 409
        assert shown(r, "refusal") == zh(RenewalBlockedByHolds(barcode))

    def test_holds_show_the_queue_position_and_can_be_cancelled(
        self, session: Session, client: TestClient, lib: Library
    ) -> None:
        for item in lib.items:
            lend(session, lib, item.barcode, reader=lib.readers[2].id)
        hold(session, lib, lib.readers[0].id, pickup="B01")
        mine = hold(session, lib, lib.readers[1].id, record=lib.record.id)
        login(client, "reader", lib.readers[1].card_number)
        page = client.get("/me")
        assert shown(page, "hold-status") == "排队第 2 位" and "在CEN 馆取书" in page.text
        r = client.post(f"/me/holds/{mine.id}/cancel", follow_redirects=False)
        assert r.status_code == 303
        page = client.get(r.headers["location"])
        assert shown(page, "done") == "预约已取消。" and 'data-testid="hold"' not in page.text

    def test_a_reader_cannot_cancel_anothers_hold(
        self, session: Session, client: TestClient, reader: Library
    ) -> None:
        lend(session, reader, reader.items[0].barcode, reader=reader.readers[2].id)
        lend(session, reader, reader.items[1].barcode, reader=reader.readers[2].id)
        theirs = hold(session, reader, reader.readers[1].id)
        r = client.post(f"/me/holds/{theirs.id}/cancel")
        assert r.status_code == 403 and shown(r, "my-error") == f"预约 {theirs.id} 属于其他读者"

    def test_fines_owed_are_listed(
        self, session: Session, client: TestClient, reader: Library
    ) -> None:
        barcode = reader.items[0].barcode
        lend(session, reader, barcode, now=NOW - timedelta(days=35))
        circ.check_in(session, barcode=barcode, branch="CEN", actor="test", now=NOW)
        page = client.get("/me")
        fines = page.text[page.text.index('id="fines"') :]
        assert "逾期罚金: 狂人日记" in fines and "共欠 ¥" in fines

    def test_history_is_off_by_default_and_the_reader_can_keep_it(
        self, session: Session, client: TestClient, reader: Library
    ) -> None:
        barcode = reader.items[0].barcode
        lend(session, reader, barcode, now=NOW - timedelta(days=3))
        circ.check_in(session, barcode=barcode, branch="CEN", actor="test", now=NOW)
        page = client.get("/me")
        assert shown(page, "history-off") == (
            "阅读历史未开启：每次借阅在您归还 30 天后即与您解除关联。"
        )
        assert "history-list" not in page.text
        r = client.post("/me/history", data={"keep": "on"}, follow_redirects=False)
        assert r.headers["location"] == "/me?done=history_on#history"
        page = client.get("/me")
        assert "2026-11-18 借，2026-11-21 还" in page.text and "history-list" in page.text
        client.post("/me/history", data={"keep": "off"})
        assert "history-list" not in client.get("/me").text

    def test_english_pages_read_in_english(
        self, session: Session, client: TestClient, reader: Library
    ) -> None:
        lend(session, reader, reader.items[0].barcode)
        client.get("/lang/en")
        page = client.get("/me").text
        assert "Due 2026-12-21" in page and "2 renewals left" in page and "Renew" in page


class TestPlaceHold:
    def test_anonymous_readers_are_asked_to_log_in(self, client: TestClient, lib: Library) -> None:
        page = client.get(f"/records/{lib.record.id}")
        assert 'data-testid="login-to-hold"' in page.text
        assert f"/login?next=/records/{lib.record.id}%23hold" in page.text
        r = client.post(
            f"/records/{lib.record.id}/hold", data={"pickup_branch": "CEN"}, follow_redirects=False
        )
        assert r.status_code == 303
        assert r.headers["location"] == f"/login?next=/records/{lib.record.id}/hold"

    def test_reader_places_a_hold_choosing_where_to_collect(
        self, client: TestClient, reader: Library
    ) -> None:
        page = client.get(f"/records/{reader.record.id}")
        assert re.search(r'<option value="CEN" selected>', page.text)  # the reader's home
        r = client.post(
            f"/records/{reader.record.id}/hold",
            data={"pickup_branch": "B01"},
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"] == "/me?done=hold_placed#holds"
        page = client.get(r.headers["location"])
        assert shown(page, "hold-status") == "排队第 1 位" and "在B01 馆取书" in page.text

    def test_a_refused_hold_says_why_on_the_record_page(
        self, client: TestClient, reader: Library
    ) -> None:
        url = f"/records/{reader.record.id}/hold"
        client.post(url, data={"pickup_branch": "CEN"})
        r = client.post(url, data={"pickup_branch": "B01"})
        assert r.status_code == 409
        assert shown(r, "hold-error") == zh(AlreadyHeld(reader.record.id))
        assert '<option value="B01" selected>' in r.text  # the choice is kept

    def test_staff_see_no_hold_form(self, session: Session, client: TestClient) -> None:
        lib = make_library(session)
        make_staff(session, roles=["circulation"], username="holdless")
        login(client, "staff", "holdless")
        assert 'data-testid="hold-box"' not in client.get(f"/records/{lib.record.id}").text


@pytest.fixture
def desk(session: Session, client: TestClient, lib: Library) -> Library:
    make_staff(session, roles=["circulation"], username="desk1", branch="CEN")
    login(client, "staff", "desk1")
    return lib


class TestDesk:
    def test_scanning_a_card_opens_the_readers_account(
        self, client: TestClient, desk: Library
    ) -> None:
        r = client.post(
            "/staff/scan", data={"code": desk.reader.card_number}, follow_redirects=False
        )
        assert r.status_code == 303
        assert r.headers["location"] == f"/staff/desk/readers/{desk.reader.id}"
        page = client.get(r.headers["location"])
        assert shown(page, "desk-card") == desk.reader.card_number
        assert shown(page, "desk-standing") == "可以借阅"
        bad = client.post("/staff/scan", data={"code": "NOSUCHCARD"})
        assert bad.status_code == 404 and 'data-testid="desk-error"' in bad.text

    def test_checkout_is_green_and_redraws_the_account(
        self, client: TestClient, desk: Library
    ) -> None:
        barcode = desk.items[0].barcode
        url = f"/staff/desk/readers/{desk.reader.id}/checkout"
        r = client.post(url, data={"barcode": barcode}, headers=HX)
        assert r.status_code == 200
        assert r.text.startswith('<li class="result ok" data-outcome="ok"')
        assert "已借出: 狂人日记" in r.text and "应还日期 2026-12-21" in r.text
        account = r.text[r.text.index('id="desk-account"') :]
        assert 'hx-swap-oob="true"' in account and barcode in account

    def test_refusal_is_red_with_the_domains_reason_in_chinese(
        self, session: Session, client: TestClient, desk: Library
    ) -> None:
        barcode = desk.items[0].barcode
        lend(session, desk, barcode, reader=desk.readers[1].id)
        r = client.post(
            f"/staff/desk/readers/{desk.reader.id}/checkout",
            data={"barcode": barcode},
            headers=HX,
        )
        assert r.status_code == 409 and 'data-outcome="refused"' in r.text
        assert shown(r, "desk-reason") == zh(AlreadyOnLoan(barcode))

    def test_without_htmx_the_whole_page_answers(self, client: TestClient, desk: Library) -> None:
        r = client.post(
            f"/staff/desk/readers/{desk.reader.id}/checkout",
            data={"barcode": "NOPE", "branch": "CEN"},
        )
        assert r.status_code == 404 and "<html" in r.text and 'data-outcome="refused"' in r.text
        assert 'src="/static/desk.js"' in r.text

    def test_blocked_reader_is_shown_with_the_reason(
        self, session: Session, client: TestClient, desk: Library
    ) -> None:
        barcode = desk.items[0].barcode
        lend(session, desk, barcode, now=NOW - timedelta(days=200))  # fine capped at ¥10
        circ.check_in(session, barcode=barcode, branch="CEN", actor="test", now=NOW)
        lend(session, desk, desk.items[1].barcode, now=NOW - timedelta(days=40))
        circ.accrue_fines(session, now=NOW)  # ¥10 + ¥1: over the ¥10 limit
        page = client.get(f"/staff/desk/readers/{desk.reader.id}")
        assert zh(FinesOverLimit("¥11.00", "¥10.00")) in shown(page, "desk-blocks")
        assert 'class="row overdue"' in page.text and "desk-standing" not in page.text

    @pytest.mark.parametrize(
        ("at", "expected"),
        [("CEN", "归架"), ("B01", "送往CEN 馆")],
    )
    def test_checkin_needs_no_reader_and_says_where_the_item_goes(
        self, session: Session, client: TestClient, desk: Library, at: str, expected: str
    ) -> None:
        barcode = desk.items[0].barcode
        lend(session, desk, barcode)
        assert client.get("/staff/desk/checkin").status_code == 200
        r = client.post("/staff/desk/checkin", data={"barcode": barcode, "branch": at}, headers=HX)
        assert r.status_code == 200 and 'data-outcome="ok"' in r.text
        assert shown(r, "destination").endswith(expected)

    def test_checkin_for_a_hold_goes_to_the_hold_shelf(
        self, session: Session, client: TestClient, desk: Library
    ) -> None:
        barcode = desk.items[0].barcode
        lend(session, desk, barcode)
        lend(session, desk, desk.items[1].barcode, reader=desk.readers[2].id)
        placed = hold(session, desk, desk.readers[1].id, pickup="CEN")
        r = client.post("/staff/desk/checkin", data={"barcode": barcode}, headers=HX)
        assert shown(r, "destination").endswith("放上预约架")
        assert f"用于预约 {placed.id}" in r.text
        shelf = client.get("/staff/hold-shelf")
        assert desk.readers[1].card_number[-4:] in shown(shelf, "circulation-list") or (
            desk.readers[1].card_number[-4:] in shelf.text
        )

    def test_unknown_barcode_and_missing_branch_are_refused(
        self, session: Session, client: TestClient, lib: Library
    ) -> None:
        make_staff(session, roles=["circulation"], username="nobranch")
        login(client, "staff", "nobranch")
        r = client.post("/staff/desk/checkin", data={"barcode": lib.items[0].barcode}, headers=HX)
        assert r.status_code == 400 and shown(r, "desk-reason") == "请选择本服务台所在的馆点"
        r = client.post(
            "/staff/desk/checkin", data={"barcode": "NOPE", "branch": "CEN"}, headers=HX
        )
        assert r.status_code == 404 and 'data-outcome="refused"' in r.text
        r = client.post("/staff/desk/checkin", data={"barcode": " "}, headers=HX)
        assert r.status_code == 400 and shown(r, "desk-reason") == "请扫描或输入条码"


class TestFinesAtTheDesk:
    @pytest.fixture
    def owing(self, session: Session, lib: Library) -> Library:
        for item in lib.items:
            lend(session, lib, item.barcode, now=NOW - timedelta(days=35))
            circ.check_in(session, barcode=item.barcode, branch="CEN", actor="test", now=NOW)
        return lib

    def test_manager_takes_a_payment_and_waives_a_fine(
        self, session: Session, client: TestClient, owing: Library
    ) -> None:
        make_staff(session, roles=["branch_manager"], username="mgr", branch="CEN")
        login(client, "staff", "mgr")
        url = f"/staff/desk/readers/{owing.reader.id}"
        before = circ.reader_account(session, reader_id=owing.reader.id, now=NOW).balance_cents
        r = client.post(f"{url}/payments", data={"amount": "0.30"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"{url}?done=paid#fines"
        assert shown(client.get(r.headers["location"]), "fines-done") == "已收款。"
        account = circ.reader_account(session, reader_id=owing.reader.id, now=NOW)
        assert account.balance_cents == before - 30
        fine = account.fines[0]
        r = client.post(f"{url}/fines/{fine.id}/waive", data={"note": "首次逾期"})
        assert shown(r, "fines-done") == "罚金已减免。"

    def test_a_bad_amount_is_refused_with_the_reason(
        self, session: Session, client: TestClient, owing: Library
    ) -> None:
        make_staff(session, roles=["branch_manager"], username="mgr2", branch="CEN")
        login(client, "staff", "mgr2")
        url = f"/staff/desk/readers/{owing.reader.id}/payments"
        r = client.post(url, data={"amount": "abc"})
        assert r.status_code == 400 and shown(r, "fines-error") == (
            "abc 不是有效的金额（以元计，例如 2.50）"
        )
        r = client.post(url, data={"amount": "999"})
        assert r.status_code == 400 and "¥999.00" in shown(r, "fines-error")

    def test_desk_staff_without_the_fines_permission_see_no_buttons(
        self, client: TestClient, owing: Library, desk: Library
    ) -> None:
        page = client.get(f"/staff/desk/readers/{owing.reader.id}")
        assert 'data-testid="desk-fines"' in page.text
        assert 'data-testid="pay"' not in page.text and 'data-testid="waive"' not in page.text
        r = client.post(f"/staff/desk/readers/{owing.reader.id}/payments", data={"amount": "1"})
        assert r.status_code == 403 and "circulation.fines.manage" in r.text


class TestBranchLists:
    def test_pick_list_and_transits_per_branch(
        self, session: Session, client: TestClient, desk: Library
    ) -> None:
        hold(session, desk, desk.readers[1].id, record=desk.other.id, pickup="B01")
        picks = client.get("/staff/pick-list", params={"branch": "CEN"})
        assert desk.other_items[0].barcode in shown(picks, "circulation-list") or (
            desk.other_items[0].barcode in picks.text
        )
        assert "取书单" in picks.text
        client.post("/staff/desk/checkin", data={"barcode": desk.other_items[0].barcode})
        out = client.get("/staff/transits", params={"branch": "CEN", "direction": "outgoing"})
        assert desk.other_items[0].barcode in out.text and "预约" in out.text
        incoming = client.get("/staff/transits", params={"branch": "B01"})
        assert desk.other_items[0].barcode in incoming.text
        assert 'data-testid="empty-list"' in client.get("/staff/hold-shelf?branch=B01").text

    def test_unknown_branch_is_a_not_found_page(self, client: TestClient, desk: Library) -> None:
        assert client.get("/staff/pick-list", params={"branch": "ZZZ"}).status_code == 404


@pytest.fixture
def rules_admin(session: Session, client: TestClient, lib: Library) -> Library:
    make_staff(session, roles=["admin"], username="rules1", branch="CEN")
    login(client, "staff", "rules1")
    return lib


def rule_form(**overrides: str) -> dict[str, str]:
    form = {
        "reader_category": "student",
        "item_type": "",
        "branch_code": "B01",
        "loanable": "true",
        "loan_days": "14",
        "loan_hours": "",
        "renewals": "1",
        "renewal_days": "14",
        "max_loans": "8",
        "max_loans_of_type": "",
        "max_holds": "3",
        "fine_per_day_cents": "0.20",
        "fine_cap_cents": "20",
        "max_fines_cents": "10",
        "grace_days": "1",
        "holds_block_renewal": "true",
        "hold_shelf_days": "5",
        "note": "学生在东城",
    }
    form.update(overrides)
    return form


class TestRules:
    def test_matrix_is_a_table_most_specific_first(
        self, client: TestClient, rules_admin: Library
    ) -> None:
        page = client.get("/staff/rules")
        assert page.status_code == 200
        rows = re.findall(r'data-testid="rule-(\d+)"', page.text)
        assert rows == ["2", "1"]  # children's rule, then the default
        assert "¥0.10" in page.text and "不限" in page.text and "30 天" in page.text

    def test_create_edit_and_delete_a_rule(
        self, session: Session, client: TestClient, rules_admin: Library
    ) -> None:
        r = client.post("/staff/rules/new", data=rule_form(), follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/staff/rules?done=saved"
        created = next(x for x in circ.list_rules(session) if x.note == "学生在东城")
        assert (created.fine_per_day_cents, created.fine_cap_cents) == (20, 2000)
        assert created.loan_hours is None and created.holds_block_renewal
        form = client.get(f"/staff/rules/{created.id}").text
        assert 'value="0.20"' in form and 'value="学生在东城"' in form
        r = client.post(f"/staff/rules/{created.id}", data=rule_form(loan_days="21"))
        assert "规则已保存" in r.text
        assert next(x for x in circ.list_rules(session) if x.id == created.id).loan_days == 21
        r = client.post(f"/staff/rules/{created.id}/delete")
        assert "规则已删除" in r.text and created.id not in {x.id for x in circ.list_rules(session)}

    def test_a_refused_rule_keeps_what_was_typed_and_says_why(
        self, client: TestClient, rules_admin: Library
    ) -> None:
        r = client.post("/staff/rules/new", data=rule_form(loan_days="0", note="我的备注"))
        assert r.status_code == 400
        assert shown(r, "form-error").startswith("借阅规则无效（loan_days）")
        assert 'value="我的备注"' in r.text and 'value="0.20"' in r.text
        assert re.search(r'<label class="invalid">借期（天）', r.text)
        client.post("/staff/rules/new", data=rule_form())
        r = client.post("/staff/rules/new", data=rule_form(note="again"))
        assert r.status_code == 409 and "已覆盖相同的读者类型" in shown(r, "form-error")

    def test_boxes_that_are_not_numbers_are_marked(
        self, client: TestClient, rules_admin: Library
    ) -> None:
        r = client.post("/staff/rules/new", data=rule_form(loan_days="abc", fine_cap_cents="lots"))
        assert r.status_code == 422
        assert shown(r, "error-loan_days") == "请输入整数"
        assert shown(r, "error-fine_cap_cents") == "lots 不是有效的金额（以元计，例如 2.50）"
        assert 'value="abc"' in r.text

    def test_the_default_rule_cannot_be_deleted(
        self, client: TestClient, rules_admin: Library
    ) -> None:
        assert 'data-testid="delete-rule-1"' not in client.get("/staff/rules").text
        r = client.post("/staff/rules/1/delete")
        assert r.status_code == 409 and 'data-testid="rules-error"' in r.text

    def test_explain_names_the_rule_and_why_the_others_do_not_apply(
        self, client: TestClient, rules_admin: Library
    ) -> None:
        client.post("/staff/rules/new", data=rule_form())
        page = client.get(
            "/staff/rules/explain", params={"reader_category": "child", "branch": "CEN"}
        )
        assert "适用规则 2" in shown(page, "explained") or "适用规则 2" in page.text
        assert "适用：匹配的规则中最具体的一条" in page.text
        assert "匹配，但不如规则 2 具体" in page.text
        assert "仅适用于读者类型 student" in page.text
        bad = client.get("/staff/rules/explain", params={"reader_category": "child", "branch": "X"})
        assert bad.status_code == 404 and 'data-testid="rules-error"' in bad.text

    def test_options_are_saved_or_refused_with_the_reason(
        self, session: Session, client: TestClient, rules_admin: Library
    ) -> None:
        r = client.post("/staff/rules/options/history_days", data={"value": "14"})
        assert shown(r, "rules-done") == "设置已保存。"
        assert {o.name: o.value for o in circ.list_options(session)}["history_days"] == "14"
        r = client.post("/staff/rules/options/timezone", data={"value": "Mars/Base"})
        assert r.status_code == 400 and "Mars/Base" in shown(r, "option-error")

    def test_desk_staff_may_read_and_explain_but_not_edit(
        self, client: TestClient, desk: Library
    ) -> None:
        page = client.get("/staff/rules").text
        assert 'data-testid="new-rule"' not in page and "readonly" in page
        r = client.post("/staff/rules/new", data=rule_form())
        assert r.status_code == 403 and "circulation.rules.manage" in r.text
