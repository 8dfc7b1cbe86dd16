"""My library (renew, holds, fines, opt-in history) and placing a hold from a record's page.
Pages are in Simplified Chinese unless switched."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from shulian.circulation import service as circ
from shulian.circulation.errors import AlreadyHeld, RenewalBlockedByHolds
from tests.conftest import NOW
from tests.factories.accounts import make_staff
from tests.factories.circulation import Library, make_library
from tests.web.helpers import hold, lend, login, shown, zh


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
