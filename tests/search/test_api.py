"""The search API: results with facets, suggestions, hot terms, and its abuse limits."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.factories.catalog import make_item, make_record
from tests.factories.consortium import make_network


def _library(session: Session, app: FastAPI, factory: sessionmaker[Session]) -> int:
    make_network(session)
    record = make_record(session, publish=True, isbns=["9787020002207"])
    make_item(session, record, branch="B01")
    make_record(
        session,
        publish=True,
        title="三体",
        other_titles=[],
        contributors=[],
        clc="I247.5",
        year=2008,
    )
    app.state.search.catch_up(factory)
    return record.id


class TestSearchApi:
    def test_finds_by_pinyin_with_facets(
        self,
        session: Session,
        app: FastAPI,
        client: TestClient,
        session_factory: sessionmaker[Session],
    ) -> None:
        rid = _library(session, app, session_factory)
        body = client.get("/api/v1/search", params={"q": "kuangrenriji"}).json()
        assert [h["record_id"] for h in body["hits"]] == [rid]
        assert body["hits"][0]["available"] == 1
        assert ("B01", 1) in [(f["value"], f["count"]) for f in body["facets"]["branch"]]

    def test_filters_combine(
        self,
        session: Session,
        app: FastAPI,
        client: TestClient,
        session_factory: sessionmaker[Session],
    ) -> None:
        _library(session, app, session_factory)
        body = client.get("/api/v1/search", params={"q": "", "year": "2000-2009"}).json()
        assert [h["title"] for h in body["hits"]] == ["三体"]

    def test_a_query_too_long_is_refused_with_the_limit(self, client: TestClient) -> None:
        r = client.get("/api/v1/search", params={"q": "书" * 5000})
        assert r.status_code == 400 and r.json()["error"] == "QueryTooLong"

    def test_a_deep_page_is_refused(self, client: TestClient) -> None:
        r = client.get("/api/v1/search", params={"q": "书", "page": 500, "per_page": 50})
        assert r.status_code == 400 and r.json()["error"] == "PageTooDeep"

    def test_suggestions_and_hot_terms(
        self,
        session: Session,
        app: FastAPI,
        client: TestClient,
        session_factory: sessionmaker[Session],
    ) -> None:
        _library(session, app, session_factory)
        assert (
            "狂人日记" in client.get("/api/v1/search/suggest", params={"q": "krr"}).json()["titles"]
        )
        client.get("/api/v1/search", params={"q": "三体"})
        assert client.get("/api/v1/search/hot").json() == [{"term": "三体", "count": 1}]

    def test_one_address_is_rate_limited(self, app: FastAPI, client: TestClient) -> None:
        app.state.settings.search_rate_per_minute = 3
        codes = [
            client.get("/api/v1/search/suggest", params={"q": "a"}).status_code for _ in range(4)
        ]
        assert codes == [200, 200, 200, 429]
