"""The cataloguing workflow, items, scans and what readers may see."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from shulian.catalog import service
from shulian.catalog.errors import (
    BarcodeTaken,
    CommentRequired,
    EpcTaken,
    InvalidRecord,
    NothingMatchesScan,
    RecordNotFound,
    SelfReviewRefused,
    StaleRecord,
    WrongRecordStatus,
)
from shulian.catalog.schemas import ItemStatus, ItemUpdate, RecordStatus, RecordUpdate
from shulian.core.events import Event
from tests.conftest import NOW
from tests.factories.catalog import make_item, make_record, record_data
from tests.factories.consortium import make_network


@pytest.fixture(autouse=True)
def network(session: Session) -> None:
    make_network(session)


def _events(session: Session, subject: str) -> list[Event]:
    return list(session.scalars(select(Event).where(Event.subject == subject).order_by(Event.seq)))


class TestWorkflow:
    def test_a_record_goes_from_draft_to_published_and_every_step_is_an_event(
        self, session: Session
    ) -> None:
        record = make_record(session, publish=True)
        assert record.status is RecordStatus.PUBLISHED
        assert record.published_at == NOW
        types = [e.type for e in _events(session, f"record:{record.id}")]
        assert types == [
            "catalog.record.created",
            "catalog.record.submitted",
            "catalog.record.approved",
            "catalog.record.published",
        ]

    def test_the_cataloguer_cannot_approve_their_own_record(self, session: Session) -> None:
        record = make_record(session)
        service.transition(
            session, record_id=record.id, action="submit", actor="staff:cataloguer", now=NOW
        )
        with pytest.raises(SelfReviewRefused):
            service.transition(
                session, record_id=record.id, action="approve", actor="staff:cataloguer", now=NOW
            )

    def test_returning_needs_a_comment_and_the_cataloguer_sees_it(self, session: Session) -> None:
        record = make_record(session)
        service.transition(
            session, record_id=record.id, action="submit", actor="staff:cataloguer", now=NOW
        )
        with pytest.raises(CommentRequired):
            service.transition(
                session, record_id=record.id, action="return", actor="staff:reviewer", now=NOW
            )
        service.transition(
            session,
            record_id=record.id,
            action="return",
            actor="staff:reviewer",
            now=NOW,
            comment="出版年有误",
        )
        assert record.status is RecordStatus.RETURNED
        assert record.review_comment == "出版年有误"
        # edited and submitted again
        service.transition(
            session, record_id=record.id, action="submit", actor="staff:cataloguer", now=NOW
        )
        assert record.status is RecordStatus.IN_REVIEW

    def test_a_draft_cannot_be_published_without_review(self, session: Session) -> None:
        record = make_record(session)
        with pytest.raises(WrongRecordStatus, match="draft"):
            service.transition(
                session, record_id=record.id, action="publish", actor="staff:publisher", now=NOW
            )

    def test_a_record_in_review_cannot_be_edited(self, session: Session) -> None:
        record = make_record(session)
        service.transition(
            session, record_id=record.id, action="submit", actor="staff:cataloguer", now=NOW
        )
        update = RecordUpdate(**record_data(title="呐喊").model_dump(), version=record.version)
        with pytest.raises(WrongRecordStatus):
            service.update_record(
                session, record_id=record.id, data=update, actor="staff:cataloguer", now=NOW
            )

    def test_an_edit_from_a_stale_copy_is_refused(self, session: Session) -> None:
        record = make_record(session)
        fresh = RecordUpdate(**record_data(title="呐喊").model_dump(), version=1)
        service.update_record(
            session, record_id=record.id, data=fresh, actor="staff:cataloguer", now=NOW
        )
        assert record.title == "呐喊" and record.version == 2
        with pytest.raises(StaleRecord):
            service.update_record(
                session, record_id=record.id, data=fresh, actor="staff:cataloguer", now=NOW
            )

    def test_unpublished_records_are_hidden_from_readers(self, session: Session) -> None:
        record = make_record(session)
        with pytest.raises(RecordNotFound):
            service.record_detail(session, record.id, published_only=True)
        assert service.record_detail(session, record.id, published_only=False).record.id == (
            record.id
        )

    def test_each_event_carries_the_digest_of_the_state_it_left(self, session: Session) -> None:
        record = make_record(session)
        first = _events(session, f"record:{record.id}")[-1].payload["state"]
        update = RecordUpdate(**record_data(year=1974).model_dump(), version=1)
        service.update_record(
            session, record_id=record.id, data=update, actor="staff:cataloguer", now=NOW
        )
        second = _events(session, f"record:{record.id}")[-1].payload["state"]
        assert len(first) == 32 and first != second


class TestIsbns:
    def test_isbns_are_stored_as_isbn13_without_duplicates(self, session: Session) -> None:
        record = make_record(session, isbns=["7-02-000220-X", "978-7-02-000220-7"])
        assert service.record_read(session, record).isbns == ["9787020002207"]

    def test_a_bad_check_digit_is_refused_naming_the_isbn(self, session: Session) -> None:
        with pytest.raises(InvalidRecord, match="7-02-000220-1"):
            make_record(session, isbns=["7-02-000220-1"])


class TestItems:
    def test_holdings_show_branch_shelf_and_availability(self, session: Session) -> None:
        record = make_record(session, publish=True)
        make_item(session, record, branch="CEN")
        make_item(session, record, branch="B01", status=ItemStatus.ON_LOAN)
        detail = service.record_detail(session, record.id, published_only=True)
        assert detail.available_count == 1
        cen = next(h for h in detail.holdings if h.branch_code == "CEN")
        assert cen.location == "3F 12排 4架 2层 7位" and cen.available
        assert [c for c, _ in detail.clc_path] == ["I", "I2", "I21", "I210", "I210.6"]

    def test_a_barcode_is_unique_across_the_network(self, session: Session) -> None:
        record = make_record(session)
        make_item(session, record, barcode="C0001")
        with pytest.raises(BarcodeTaken):
            make_item(session, record, barcode="C0001", branch="B01")

    def test_an_rfid_tag_belongs_to_one_item(self, session: Session) -> None:
        record = make_record(session)
        make_item(session, record, epc="E2801160600002")
        other = make_item(session, record)
        with pytest.raises(EpcTaken):
            service.update_item(
                session,
                barcode=other.barcode,
                data=ItemUpdate(epc="e2801160600002"),
                actor="t",
                now=NOW,
            )

    def test_moving_an_item_is_recorded(self, session: Session) -> None:
        record = make_record(session)
        item = make_item(session, record)
        service.update_item(
            session,
            barcode=item.barcode,
            data=ItemUpdate(branch="b01", shelf="9"),
            actor="t",
            now=NOW,
        )
        assert (item.branch_code, item.shelf) == ("B01", "9")
        assert _events(session, f"item:{item.id}")[-1].type == "catalog.item.updated"


class TestScan:
    def test_an_item_barcode_opens_its_record(self, session: Session) -> None:
        record = make_record(session, publish=True)
        item = make_item(session, record)
        found = service.resolve_scan(session, item.barcode)
        assert (found.matched, found.record_id) == ("item", record.id)

    def test_an_isbn_10_finds_the_record_stored_as_isbn_13(self, session: Session) -> None:
        record = make_record(session, publish=True, isbns=["9787020002207"])
        assert service.resolve_scan(session, "7-02-000220-X").record_id == record.id

    def test_a_draft_is_not_found_by_readers_scanning(self, session: Session) -> None:
        make_record(session, isbns=["9787020002207"])
        with pytest.raises(NothingMatchesScan):
            service.resolve_scan(session, "9787020002207")


class TestCopiesInStatus:
    def test_many_records_take_the_scanning_path_with_the_same_answer(
        self, session: Session
    ) -> None:
        record = make_record(session, publish=True)
        item = make_item(session, record)
        make_item(session, record, status=ItemStatus.ON_LOAN)
        few = service.copies_in_status(session, [record.id])
        many = service.copies_in_status(session, [record.id, *range(10**6, 10**6 + 6000)])
        assert [c.barcode for c in few] == [c.barcode for c in many] == [item.barcode]
        assert many[0].location == "3F 12排 4架 2层 7位"
