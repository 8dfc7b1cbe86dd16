"""The search replica follows the catalogue through the event spine; hot terms count real
searches."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from shulian.catalog import service as catalog_service
from shulian.catalog.schemas import ItemStatus, ItemUpdate, RecordUpdate
from shulian.circulation import service as circulation_service
from shulian.search.documents import SearchQuery
from shulian.search.errors import SearchIndexLocked
from shulian.search.service import SearchService, normalize_term
from tests.conftest import NOW
from tests.factories.accounts import make_reader
from tests.factories.catalog import make_item, make_record, record_data
from tests.factories.consortium import make_network


@pytest.fixture
def search(tmp_path: Path) -> SearchService:
    return SearchService(tmp_path / "search")


@pytest.fixture(autouse=True)
def network(session: Session) -> None:
    make_network(session)


def ids(search: SearchService, session: Session, text: str, **kw: object) -> list[int]:
    page = search.search(SearchQuery(text=text, **kw))  # type: ignore[arg-type]
    return [h.record_id for h in page.hits]


class TestCatchUp:
    def test_a_published_record_becomes_searchable_and_a_draft_does_not(
        self, session: Session, session_factory: sessionmaker[Session], search: SearchService
    ) -> None:
        published = make_record(session, publish=True)
        make_record(session, title="狂人日记（草稿）")
        search.catch_up(session_factory)
        assert ids(search, session, "狂人日记") == [published.id]
        assert ids(search, session, "krrj") == [published.id]

    def test_withdrawing_removes_a_record_from_results(
        self, session: Session, session_factory: sessionmaker[Session], search: SearchService
    ) -> None:
        record = make_record(session, publish=True)
        search.catch_up(session_factory)
        catalog_service.transition(
            session, record_id=record.id, action="withdraw", actor="staff:p", now=NOW
        )
        search.catch_up(session_factory)
        assert ids(search, session, "狂人日记") == []

    def test_availability_follows_item_status(
        self, session: Session, session_factory: sessionmaker[Session], search: SearchService
    ) -> None:
        record = make_record(session, publish=True)
        item = make_item(session, record, branch="B01")
        search.catch_up(session_factory)
        assert ids(search, session, "狂人日记", filters={"available": ["any"]}) == [record.id]
        catalog_service.update_item(
            session,
            barcode=item.barcode,
            data=ItemUpdate(status=ItemStatus.ON_LOAN),
            actor="t",
            now=NOW,
        )
        search.catch_up(session_factory)
        assert ids(search, session, "狂人日记", filters={"available": ["any"]}) == []
        hit = search.search(SearchQuery(text="狂人日记")).hits[0]
        assert (hit.copies, hit.available) == (1, 0)

    def test_a_result_line_shows_the_record_as_last_published(
        self, session: Session, session_factory: sessionmaker[Session], search: SearchService
    ) -> None:
        record = make_record(session, publish=True, cover_url="https://covers.example/k.jpg")
        make_item(session, record, branch="B01")
        make_item(session, record, branch="CEN")
        search.catch_up(session_factory)
        hit = search.search(SearchQuery(text="狂人日记")).hits[0]
        assert (hit.title, hit.authors, hit.year, hit.publisher) == (
            "狂人日记",
            ["鲁迅"],
            1973,
            "人民文学出版社",
        )
        assert (hit.format, hit.clc, hit.cover_url) == (
            "book",
            "I210.6",
            "https://covers.example/k.jpg",
        )
        assert (hit.copies, hit.available) == (2, 2)

        corrected = record_data(title="狂人日记", year=1981, publisher="人民文学出版社（新版）")
        catalog_service.update_record(
            session,
            record_id=record.id,
            data=RecordUpdate(**corrected.model_dump(), version=record.version),
            actor="staff:cataloguer",
            now=NOW,
        )
        search.catch_up(session_factory)
        hit = search.search(SearchQuery(text="狂人日记")).hits[0]
        assert (hit.year, hit.publisher, hit.cover_url) == (1981, "人民文学出版社（新版）", None)

    def test_loans_make_a_record_most_borrowed_and_unavailable(
        self, session: Session, session_factory: sessionmaker[Session], search: SearchService
    ) -> None:
        quiet = make_record(session, publish=True, title="呐喊")
        popular = make_record(session, publish=True, title="彷徨")
        item = make_item(session, popular)
        reader = make_reader(session)
        search.catch_up(session_factory)
        for day in range(3):
            when = NOW + timedelta(days=day)
            circulation_service.check_out(
                session,
                reader_id=reader.id,
                barcode=item.barcode,
                branch="CEN",
                actor="s",
                now=when,
            )
            circulation_service.check_in(
                session, barcode=item.barcode, branch="CEN", actor="s", now=when
            )
        circulation_service.check_out(
            session, reader_id=reader.id, barcode=item.barcode, branch="CEN", actor="s", now=NOW
        )
        search.catch_up(session_factory)
        order = ids(search, session, "", sort="most_borrowed")
        assert order.index(popular.id) < order.index(quiet.id)
        assert ids(search, session, "彷徨", filters={"available": ["any"]}) == []

    def test_a_backlog_is_committed_as_one_segment_not_one_per_batch(
        self, session: Session, session_factory: sessionmaker[Session], tmp_path: Path
    ) -> None:
        for n in range(12):
            make_record(session, publish=True, title=f"积压之书{n}")
        at_once = SearchService(tmp_path / "at-once")
        at_once.catch_up(session_factory, batch_size=10)
        each_batch = SearchService(tmp_path / "each-batch")
        each_batch.catch_up(session_factory, batch_size=10, commit_every=0)
        assert at_once.index.count() == each_batch.index.count() == 12
        assert at_once.offset() == each_batch.offset()
        assert at_once.index.segment_count() == 1
        assert each_batch.index.segment_count() > 1

    def test_the_offset_survives_a_new_service_on_the_same_folder(
        self, session: Session, session_factory: sessionmaker[Session], tmp_path: Path
    ) -> None:
        make_record(session, publish=True)
        first = SearchService(tmp_path / "replica")
        first.catch_up(session_factory)
        first.index.close()  # the process ends, and another starts on the same folder
        again = SearchService(tmp_path / "replica")
        assert again.offset() == first.offset() > 0
        assert again.catch_up(session_factory) == 0

    def test_a_second_process_on_the_same_index_leaves_the_writing_to_the_first(
        self, session: Session, session_factory: sessionmaker[Session], tmp_path: Path
    ) -> None:
        record = make_record(session, publish=True)
        writer = SearchService(tmp_path / "shared")
        other = SearchService(tmp_path / "shared")  # another serving process's replica
        writer.catch_up(session_factory)
        offset = writer.offset()
        make_record(session, publish=True, title="呐喊")
        with pytest.raises(SearchIndexLocked):
            other.catch_up(session_factory)
        assert writer.offset() == offset  # the refused one read and moved nothing
        writer.catch_up(session_factory)
        other.index.reload()
        assert ids(other, session, "狂人日记") == [record.id]
        assert len(ids(other, session, "呐喊")) == 1

    def test_reindex_rebuilds_from_the_catalogue(
        self, session: Session, session_factory: sessionmaker[Session], search: SearchService
    ) -> None:
        make_record(session, publish=True)
        make_record(session, publish=True, title="呐喊", isbns=["9787020002207"])
        assert search.reindex(session_factory, memory=64_000_000) == 2
        assert search.index.writer_memory == 64_000_000
        assert search.index.segment_count() == 1
        assert len(ids(search, session, "9787020002207")) == 1


class TestHotTerms:
    def test_counts_from_two_serving_processes_add_up_in_one_hour(
        self, session: Session, session_factory: sessionmaker[Session], tmp_path: Path
    ) -> None:
        make_record(session, publish=True)
        one, other = SearchService(tmp_path / "one"), SearchService(tmp_path / "other")
        one.catch_up(session_factory)
        other.catch_up(session_factory)
        for service, times in ((one, 2), (other, 3)):
            for _ in range(times):
                service.search(SearchQuery(text="狂人日记"))
        one.flush_counts(session_factory, now=NOW)
        other.flush_counts(session_factory, now=NOW)
        assert one.hot_terms(session, now=NOW) == [("狂人日记", 5)]

    def test_searches_that_found_something_are_counted(
        self, session: Session, session_factory: sessionmaker[Session], search: SearchService
    ) -> None:
        make_record(session, publish=True)
        search.catch_up(session_factory)
        for _ in range(3):
            search.search(SearchQuery(text="狂人日记"))
        search.search(SearchQuery(text="鲁迅"))
        search.search(SearchQuery(text="不存在的书名xyz"))
        search.flush_counts(session_factory, now=NOW)
        assert search.hot_terms(session, now=NOW) == [("狂人日记", 3), ("鲁迅", 1)]

    def test_old_searches_fall_out_of_the_window(
        self, session: Session, session_factory: sessionmaker[Session], search: SearchService
    ) -> None:
        search.count_search("红楼梦")
        search.flush_counts(session_factory, now=NOW - timedelta(days=8))
        search.count_search("三体")
        search.flush_counts(session_factory, now=NOW)
        assert search.hot_terms(session, now=NOW) == [("三体", 1)]

    @pytest.mark.parametrize("text", ["9787020002207", "x", " ", "a" * 41])
    def test_identifiers_and_odd_lengths_are_not_counted(self, text: str) -> None:
        assert normalize_term(text) is None
