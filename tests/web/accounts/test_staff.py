"""Readers for staff: registering through the form, the search box, scanning a reader's QR code."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.accounts import make_reader, make_staff
from tests.factories.consortium import make_network
from tests.web.helpers import post_login


class TestStaffReaderPages:
    def test_desk_registers_a_reader_through_the_form(
        self, session: Session, client: TestClient
    ) -> None:
        make_network(session)
        make_staff(session, roles=["circulation"], username="desk7")
        post_login(client, "staff", "desk7")
        form = {
            "card_number": "F100",
            "name": "郭靖",
            "category": "student",
            "home_branch": "B01",
            "expires_on": "2029-09-01",
        }
        r = client.post("/staff/readers", data=form, follow_redirects=False)
        assert r.status_code == 303
        page = client.get(r.headers["location"]).text
        assert "郭靖" in page and "F100" in page
        again = client.post("/staff/readers", data=form)
        assert again.status_code == 400 and "读者证号 F100 已被使用" in again.text
        # The search box (htmx) gets rows only.
        rows = client.get("/staff/readers", params={"q": "郭"}, headers={"HX-Request": "true"})
        assert rows.text.lstrip().startswith('<tbody id="reader-rows">') and "F100" in rows.text

    def test_desk_scans_a_reader_qr_code(self, session: Session, client: TestClient) -> None:
        make_network(session)
        make_reader(session, card="QR1", name="洪七公")
        make_staff(session, roles=["circulation"], username="desk6")
        post_login(client, "reader", "QR1")
        code = re.search(r"SLR1\.[\w.-]+", client.get("/api/v1/me/qr").text)
        assert code is not None
        client.post("/logout")
        post_login(client, "staff", "desk6")
        page = client.post("/staff/scan", data={"code": code.group(0)}).text
        assert "洪七公" in page
        bad = client.post("/staff/scan", data={"code": code.group(0)[:-2]})
        assert bad.status_code == 400 and "读者二维码无效或已过期" in bad.text
