"""The catalogue's pages for staff: queue, editor, items, imports."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from shulian.catalog import service as catalog_service
from shulian.catalog.schemas import RecordStatus
from tests.factories.accounts import bearer, make_reader, make_staff
from tests.factories.catalog import make_record

ISBN = "9787020024759"


def _staff(client: TestClient, session: Session, roles: list[str], name: str) -> dict[str, str]:
    make_staff(session, roles=roles, username=name)
    return bearer(client, "staff", name)


class TestStaffPages:
    def test_readers_and_anonymous_are_kept_out(
        self, session: Session, client: TestClient, network: None
    ) -> None:
        r = client.get("/staff/catalog", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
        make_reader(session, card="CATR1")
        reader = bearer(client, "reader", "CATR1")
        for url in ("/staff/catalog", "/staff/catalog/new", "/staff/catalog/imports"):
            assert client.get(url, headers=reader).status_code == 403
        desk = _staff(client, session, ["circulation"], "deskc")
        assert client.get("/staff/catalog", headers=desk).status_code == 200
        r = client.get("/staff/catalog/new", headers=desk)
        assert r.status_code == 403 and "catalog.record.create" in r.text

    def test_review_flow_through_the_forms(
        self, session: Session, client: TestClient, network: None
    ) -> None:
        cat = _staff(client, session, ["cataloguer"], "catp")
        rev = _staff(client, session, ["reviewer"], "revp")
        pub = _staff(client, session, ["publisher"], "pubp")
        form = {
            "title": "故乡",
            "contributors": "鲁迅 | author\n周作人 | 译",
            "isbns": ISBN,
            "year": "1921",
            "language": "chi",
            "clc": "I210.6",
            "format": "book",
        }
        r = client.post("/staff/catalog/new", data=form, headers=cat, follow_redirects=False)
        assert r.status_code == 303
        rid = int(r.headers["location"].rsplit("/", 1)[1])
        record = catalog_service.get_record(session, rid)
        assert record.status is RecordStatus.DRAFT and record.year == 1921

        def post(action: str, who: dict[str, str], **data: str) -> Any:
            return client.post(
                f"/staff/catalog/{rid}/{action}", data=data, headers=who, follow_redirects=False
            )

        assert post("submit", cat).status_code == 303
        queue = client.get("/staff/catalog", params={"status": "in_review"}, headers=rev).text
        assert "故乡" in queue and f'action="/staff/catalog/{rid}/approve"' in queue
        refused = post("return", rev)
        assert refused.status_code == 400 and 'data-testid="page-error"' in refused.text
        assert post("return", rev, comment="补充摘要").status_code == 303
        page = client.get(f"/staff/catalog/{rid}", headers=cat).text
        assert "补充摘要" in page
        assert post("submit", cat).status_code == 303
        assert post("approve", rev, next="/staff/catalog").status_code == 303
        r = post("publish", pub)
        assert r.headers["location"] == f"/staff/catalog/{rid}"
        session.refresh(record)
        assert catalog_service.get_record(session, rid).status is RecordStatus.PUBLISHED
        assert client.get(f"/records/{rid}").status_code == 200

    def test_self_review_is_refused_on_the_page(
        self, session: Session, client: TestClient, network: None
    ) -> None:
        both = _staff(client, session, ["cataloguer", "reviewer"], "bothp")
        r = client.post("/staff/catalog/new", data={"title": "野草"}, headers=both)
        rid = int(re.search(r"/staff/catalog/(\d+)/edit", r.text).group(1))  # type: ignore[union-attr]
        client.post(f"/staff/catalog/{rid}/submit", headers=both)
        r = client.post(f"/staff/catalog/{rid}/approve", headers=both)
        assert r.status_code == 403 and 'data-testid="page-error"' in r.text

    def test_editor_keeps_what_was_typed_and_names_the_bad_field(
        self, session: Session, client: TestClient, network: None
    ) -> None:
        cat = _staff(client, session, ["cataloguer"], "cate")
        form = {"title": "彷徨", "year": "一九二六", "summary": "小说集", "isbns": "123"}
        r = client.post("/staff/catalog/new", data=form, headers=cat)
        assert r.status_code == 422
        assert 'data-testid="error-year"' in r.text and "彷徨" in r.text and "小说集" in r.text
        form["year"] = "1926"
        r = client.post("/staff/catalog/new", data=form, headers=cat)
        assert r.status_code == 400 and "ISBN" in r.text.upper() and "彷徨" in r.text

    def test_edit_with_version_and_stale_version(
        self, session: Session, client: TestClient, network: None
    ) -> None:
        cat = _staff(client, session, ["cataloguer"], "catv")
        record = make_record(session)
        page = client.get(f"/staff/catalog/{record.id}/edit", headers=cat).text
        assert 'name="version" value="1"' in page and "鲁迅 | author" in page
        data = {"title": "狂人日记（新版）", "contributors": "鲁迅 | author", "version": "1"}
        url = f"/staff/catalog/{record.id}/edit"
        r = client.post(url, data=data, headers=cat, follow_redirects=False)
        assert r.status_code == 303
        r = client.post(url, data=data, headers=cat)
        assert r.status_code == 409 and "狂人日记（新版）" in r.text

    def test_items_are_added_and_moved(
        self, session: Session, client: TestClient, network: None
    ) -> None:
        cat = _staff(client, session, ["cataloguer"], "cati")
        record = make_record(session)
        form = {"barcode": "WEB0001", "branch": "B01", "floor": "2F", "shelf_range": "5",
                "layer": "3", "price": "45.50", "status": "available"}  # fmt: skip
        r = client.post(
            f"/staff/catalog/{record.id}/items", data=form, headers=cat, follow_redirects=False
        )
        assert r.status_code == 303
        item = catalog_service.get_item(session, "WEB0001")
        assert item.branch_code == "B01" and item.price_cents == 4550 and item.layer == 3
        r = client.post(
            "/staff/items/WEB0001",
            data={"status": "missing", "floor": "3F"},
            headers=cat,
            follow_redirects=False,
        )
        assert r.status_code == 303
        session.refresh(item)
        assert item.status.value == "missing" and item.floor == "3F"
        dup = client.post(f"/staff/catalog/{record.id}/items", data=form, headers=cat)
        assert dup.status_code == 409 and "WEB0001" in dup.text

    def test_import_upload_reports_a_rejected_record(
        self, session: Session, client: TestClient, network: None
    ) -> None:
        cat = _staff(client, session, ["cataloguer"], "catim")
        csv = "title,authors,year,barcode,branch\n呐喊,鲁迅,1923,IMP001,CEN\n,无名,1930,,\n"
        r = client.post(
            "/staff/catalog/imports",
            data={"format": "csv", "encoding": "", "branch": "CEN"},
            files={"file": ("books.csv", csv.encode(), "text/csv")},
            headers=cat,
            follow_redirects=False,
        )
        assert r.status_code == 303
        report = client.get(r.headers["location"], headers=cat)
        assert report.status_code == 200
        text = report.text
        assert 'data-testid="import-done"' in text and 'data-testid="rejected"' in text
        assert re.search(r'count-imported">1<', text) and re.search(r'count-rejected">1<', text)
        assert "no title" in text
        listing = client.get("/staff/catalog/imports", headers=cat).text
        assert "books.csv" in listing

    def test_unknown_import_format_is_shown_on_the_form(
        self, session: Session, client: TestClient, network: None
    ) -> None:
        cat = _staff(client, session, ["cataloguer"], "catbad")
        r = client.post(
            "/staff/catalog/imports",
            data={"format": "pdf"},
            files={"file": ("x.pdf", b"%PDF", "application/pdf")},
            headers=cat,
        )
        assert r.status_code == 400 and 'data-testid="import-error"' in r.text
