"""Holds across branches: one queue per title, trapping at checkin, the hold shelf, transit to
the pickup branch, pick lists, expiry and cancellation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from shulian.catalog import service as catalog_service
from shulian.catalog.errors import RecordNotFound
from shulian.catalog.schemas import ItemStatus
from shulian.circulation import service as circ
from shulian.circulation.errors import (
    AlreadyHeld,
    HoldClosed,
    HoldLimitReached,
    HoldOnOwnLoan,
    NothingToHold,
    NotYourHold,
)
from shulian.circulation.models import Hold
from shulian.circulation.schemas import HoldStatus, RuleFields
from shulian.notify.models import Notice
from tests.conftest import NOW
from tests.factories.catalog import make_item, make_record
from tests.factories.circulation import make_library


def hold(session: Session, reader: int, record: int, pickup: str, now=NOW):  # type: ignore[no-untyped-def]
    return circ.place_hold(
        session, reader_id=reader, record_id=record, pickup_branch=pickup, actor="r", now=now
    )


def back(session: Session, barcode: str, branch: str, now=NOW):  # type: ignore[no-untyped-def]
    return circ.check_in(session, barcode=barcode, branch=branch, actor="staff:1", now=now)


class TestQueue:
    def test_readers_see_their_place_in_the_queue(self, session: Session) -> None:
        lib = make_library(session, readers=4)
        circ.check_out(
            session,
            reader_id=lib.readers[3].id,
            barcode=lib.other_items[0].barcode,
            branch="CEN",
            actor="s",
            now=NOW,
        )
        for i in range(3):
            hold(session, lib.readers[i].id, lib.other.id, "CEN", NOW + timedelta(minutes=i))
        positions = [
            circ.reader_account(session, reader_id=r.id, now=NOW).holds[0].position
            for r in lib.readers[:3]
        ]
        assert positions == [1, 2, 3]

    def test_holds_are_refused_with_a_reason(self, session: Session) -> None:
        lib = make_library(session)
        reader = lib.reader.id
        hold(session, reader, lib.record.id, "CEN")
        with pytest.raises(AlreadyHeld):
            hold(session, reader, lib.record.id, "B01")
        circ.check_out(
            session,
            reader_id=reader,
            barcode=lib.other_items[0].barcode,
            branch="CEN",
            actor="s",
            now=NOW,
        )
        with pytest.raises(HoldOnOwnLoan):
            hold(session, reader, lib.other.id, "CEN")
        bare = make_record(session, publish=True, title="无馆藏")
        with pytest.raises(NothingToHold):
            hold(session, reader, bare.id, "CEN")
        draft = make_record(session, title="未发布")
        make_item(session, draft)
        with pytest.raises(RecordNotFound):
            hold(session, reader, draft.id, "CEN")

    def test_hold_limit(self, session: Session) -> None:
        lib = make_library(session)
        circ.create_rule(
            session, data=RuleFields(reader_category="adult", max_holds=1), actor="s", now=NOW
        )
        hold(session, lib.reader.id, lib.record.id, "CEN")
        with pytest.raises(HoldLimitReached, match="1 holds"):
            hold(session, lib.reader.id, lib.other.id, "CEN")


class TestTrapping:
    def test_returned_copy_goes_to_the_pickup_branch_and_waits_there(
        self, session: Session
    ) -> None:
        lib = make_library(session)
        barcode = lib.other_items[0].barcode  # the only copy, home CEN
        circ.check_out(
            session, reader_id=lib.reader.id, barcode=barcode, branch="CEN", actor="s", now=NOW
        )
        placed = hold(session, lib.readers[1].id, lib.other.id, "B01")
        trip = back(session, barcode, "CEN")
        assert (trip.destination, trip.to_branch, trip.hold_id) == ("transit", "B01", placed.id)
        waiting = circ.reader_account(session, reader_id=lib.readers[1].id, now=NOW).holds[0]
        assert waiting.status == "in_transit" and waiting.barcode == barcode
        arrived = back(session, barcode, "B01", NOW + timedelta(days=1))
        assert arrived.destination == "hold_shelf"
        ready = circ.reader_account(session, reader_id=lib.readers[1].id, now=NOW).holds[0]
        assert ready.status == "ready" and ready.expires_at is not None
        shelf = circ.hold_shelf(session, branch="B01")
        assert [s.barcode for s in shelf] == [barcode]
        assert shelf[0].card_tail == lib.readers[1].card_number[-4:]
        notice = session.query(Notice).filter_by(reader_id=lib.readers[1].id).one()
        assert notice.kind == "hold_ready" and notice.context["title"] == "呐喊"

    def test_uncollected_hold_expires_and_passes_to_the_next_reader(self, session: Session) -> None:
        lib = make_library(session, readers=3)
        barcode = lib.other_items[0].barcode
        circ.check_out(
            session, reader_id=lib.reader.id, barcode=barcode, branch="CEN", actor="s", now=NOW
        )
        first = hold(session, lib.readers[1].id, lib.other.id, "CEN")
        second = hold(session, lib.readers[2].id, lib.other.id, "CEN", NOW + timedelta(hours=1))
        back(session, barcode, "CEN")
        assert circ.expire_holds(session, now=NOW + timedelta(days=7)) == 0  # within 7 days
        assert circ.expire_holds(session, now=NOW + timedelta(days=9)) == 1
        mine = circ.reader_account(session, reader_id=lib.readers[1].id, now=NOW).holds
        assert mine == []
        assert session.get(Hold, first.id).status is HoldStatus.EXPIRED  # type: ignore[union-attr]
        theirs = circ.reader_account(session, reader_id=lib.readers[2].id, now=NOW).holds[0]
        assert (theirs.id, theirs.status) == (second.id, "ready")

    def test_cancelling_a_ready_hold_frees_the_copy(self, session: Session) -> None:
        lib = make_library(session)
        barcode = lib.other_items[0].barcode
        circ.check_out(
            session, reader_id=lib.reader.id, barcode=barcode, branch="CEN", actor="s", now=NOW
        )
        placed = hold(session, lib.readers[1].id, lib.other.id, "CEN")
        back(session, barcode, "CEN")
        with pytest.raises(NotYourHold):
            circ.cancel_hold(
                session, hold_id=placed.id, reader_id=lib.reader.id, actor="r", now=NOW
            )
        circ.cancel_hold(
            session, hold_id=placed.id, reader_id=lib.readers[1].id, actor="r", now=NOW
        )
        assert catalog_service.get_item(session, barcode).status is ItemStatus.AVAILABLE
        with pytest.raises(HoldClosed, match="cancelled"):
            circ.cancel_hold(session, hold_id=placed.id, reader_id=None, actor="s", now=NOW)


class TestPickList:
    def test_prefers_a_copy_at_the_pickup_branch_then_the_quickest_route(
        self, session: Session
    ) -> None:
        lib = make_library(session, readers=3, copies=("CEN", "B01", "S01"))
        circ.set_transit_time(
            session, from_branch="S01", to_branch="D01", hours=4, actor="s", now=NOW
        )
        circ.set_transit_time(
            session, from_branch="CEN", to_branch="D01", hours=24, actor="s", now=NOW
        )
        h_b01 = hold(session, lib.readers[0].id, lib.record.id, "B01")
        h_d01 = hold(session, lib.readers[1].id, lib.record.id, "D01", NOW + timedelta(minutes=1))
        picks = {p.hold_id: p for p in circ.pick_list(session, now=NOW)}
        assert picks[h_b01.id].branch == "B01"  # its own shelf
        assert picks[h_d01.id].branch == "S01"  # 4 hours beats 24
        assert [p.hold_id for p in circ.pick_list(session, branch="S01", now=NOW)] == [h_d01.id]
        assert circ.pick_list(session, branch="CEN", now=NOW) == []

    def test_each_copy_is_promised_once_in_queue_order(self, session: Session) -> None:
        lib = make_library(session, readers=3, copies=("CEN",))
        first = hold(session, lib.readers[0].id, lib.record.id, "CEN")
        hold(session, lib.readers[1].id, lib.record.id, "CEN", NOW + timedelta(minutes=1))
        picks = circ.pick_list(session, now=NOW)
        assert [p.hold_id for p in picks] == [first.id]
        pulled = back(session, picks[0].barcode, "CEN")  # staff scan the pulled copy
        assert pulled.destination == "hold_shelf" and pulled.hold_id == first.id
        assert circ.pick_list(session, now=NOW) == []
