"""The circulation desk: reader scan, checkout, checkin, payments and waivers, the branch lists."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from shulian.circulation import service as circ
from shulian.circulation.errors import AlreadyOnLoan, FinesOverLimit
from tests.conftest import NOW
from tests.factories.accounts import make_staff
from tests.factories.circulation import Library
from tests.web.helpers import HX, hold, lend, login, shown, zh


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
