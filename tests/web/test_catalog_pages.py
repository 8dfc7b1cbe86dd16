"""The catalogue's pages: search, record, CLC, scan for readers; queue, editor, items, imports
for staff."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from shulian.catalog import service as catalog_service
from shulian.catalog.schemas import RecordStatus
from tests.factories.accounts import bearer, make_reader, make_staff
from tests.factories.catalog import make_item, make_record
from tests.factories.consortium import make_network

ISBN = "9787020024759"


@pytest.fixture
def network(session: Session) -> None:
    make_network(session)


def _index(app: FastAPI, factory: sessionmaker[Session]) -> None:
    app.state.search.catch_up(factory)


def _staff(client: TestClient, session: Session, roles: list[str], name: str) -> dict[str, str]:
    make_staff(session, roles=roles, username=name)
    return bearer(client, "staff", name)


class TestReaderPages:
    def test_record_page_shows_description_holdings_and_clc_path(
        self, session: Session, client: TestClient, network: None
    ) -> None:
        record = make_record(session, publish=True, isbns=[ISBN], call_number="I210.6/1")
        make_item(session, record, branch="CEN")
        page = client.get(f"/records/{record.id}")
        assert page.status_code == 200
        text = page.text
        assert "狂人日记" in text and "鲁迅" in text and "人民文学出版社" in text
        assert "3F 12排 4架 2层 7位" in text and "CEN 馆" in text and "在架" in text
        assert ISBN in text and 'href="/clc/I"' in text and "文学" in text

    def test_unpublished_record_is_not_found_for_readers(
        self, session: Session, client: TestClient, network: None
    ) -> None:
        draft = make_record(session)
        r = client.get(f"/records/{draft.id}")
        assert r.status_code == 404 and "不存在" in r.text

    def test_search_shows_a_hit_and_facets(
        self,
        session: Session,
        client: TestClient,
        app: FastAPI,
        session_factory: sessionmaker[Session],
        network: None,
    ) -> None:
        record = make_record(session, publish=True)
        make_item(session, record, branch="B01")
        session.commit()
        _index(app, session_factory)
        page = client.get("/search", params={"q": "狂人日记"})
        assert page.status_code == 200
        assert f'href="/records/{record.id}"' in page.text
        assert 'data-testid="facet-clc"' in page.text and "I 文学" in page.text
        assert 'data-testid="facet-branch"' in page.text and "B01 馆" in page.text
        assert "1 of 1 on the shelf" not in page.text  # shown in Chinese by default
        filtered = client.get("/search", params={"q": "狂人日记", "branch": "B01"})
        assert f'href="/records/{record.id}"' in filtered.text and "✓" in filtered.text

    def test_refused_search_is_a_message_on_the_page(self, client: TestClient) -> None:
        r = client.get("/search", params={"q": "书" * 500})
        assert r.status_code == 400
        assert 'data-testid="search-error"' in r.text and "200" in r.text
        r = client.get("/search", params={"q": "书", "page": 999})
        assert r.status_code == 400 and 'data-testid="search-error"' in r.text

    def test_nothing_found_offers_alternatives_or_says_so(self, client: TestClient) -> None:
        r = client.get("/search", params={"q": "zzzzqqqq"})
        assert r.status_code == 200 and 'data-testid="no-results"' in r.text

    def test_home_has_search_box_and_new_arrivals(
        self, session: Session, client: TestClient, network: None
    ) -> None:
        make_record(session, publish=True, title="呐喊")
        page = client.get("/").text
        assert 'action="/search"' in page and 'hx-get="/search/suggest"' in page
        assert "呐喊" in page and "新书上架" in page

    def test_suggestions_are_links_to_searches(
        self,
        session: Session,
        client: TestClient,
        app: FastAPI,
        session_factory: sessionmaker[Session],
        network: None,
    ) -> None:
        make_record(session, publish=True)
        session.commit()
        _index(app, session_factory)
        r = client.get("/search/suggest", params={"q": "krrj"})
        assert r.status_code == 200 and "狂人日记" in r.text and "/search?q=" in r.text
        assert client.get("/search/suggest").text.strip() == ""

    def test_clc_browse_shows_path_children_and_books(
        self, session: Session, client: TestClient, network: None
    ) -> None:
        make_record(session, publish=True, clc="I210.6")
        top = client.get("/clc")
        assert top.status_code == 200 and 'href="/clc/I"' in top.text
        page = client.get("/clc/I2")
        assert page.status_code == 200
        assert 'href="/clc/I"' in page.text and "狂人日记" in page.text
        assert client.get("/clc/ZZ9").status_code == 404

    def test_scan_of_an_isbn_or_barcode_opens_the_record(
        self, session: Session, client: TestClient, network: None
    ) -> None:
        record = make_record(session, publish=True, isbns=[ISBN])
        item = make_item(session, record)
        for code in ("978-7-02-002475-9", item.barcode):
            r = client.get(f"/scan/{code}", follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"] == f"/records/{record.id}"
        r = client.get("/scan", params={"code": ISBN}, follow_redirects=False)
        assert r.headers["location"] == f"/scan/{ISBN}"
        missing = client.get("/scan/12345")
        assert missing.status_code == 404 and 'data-testid="scan-error"' in missing.text
        page = client.get("/scan").text
        assert "/static/vendor/zxing/zxing-browser.min.js" in page and "/static/scan.js" in page


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
