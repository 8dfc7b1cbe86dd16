"""The catalogue's pages for readers: search, record, CLC, scan."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.factories.catalog import make_item, make_record

ISBN = "9787020024759"


def _index(app: FastAPI, factory: sessionmaker[Session]) -> None:
    app.state.search.catch_up(factory)


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
