"""Checkout, checkin anywhere, renewal: what the desk, the phone and the kiosk all rely on."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from shulian.accounts import service as accounts_service
from shulian.accounts.schemas import ReaderUpdate
from shulian.catalog import service as catalog_service
from shulian.catalog.schemas import ItemStatus
from shulian.circulation import service as circ
from shulian.circulation.errors import (
    AlreadyOnLoan,
    CardExpired,
    FinesOverLimit,
    ItemNotLoanable,
    ItemOnHoldForAnother,
    ItemUnavailable,
    LoanLimitReached,
    NotOnLoan,
    NotYourLoan,
    ReaderBlocked,
    RenewalBlockedByHolds,
    RenewalLimitReached,
    TypeLoanLimitReached,
)
from shulian.circulation.models import Hold
from shulian.circulation.schemas import HoldStatus, RuleFields
from shulian.core.events import Event
from tests.conftest import NOW
from tests.factories.accounts import make_reader
from tests.factories.catalog import make_item
from tests.factories.circulation import Library, make_library


def lend(session: Session, lib: Library, barcode: str, *, reader: int | None = None, **kw: object):  # type: ignore[no-untyped-def]
    return circ.check_out(
        session,
        reader_id=reader or lib.reader.id,
        barcode=barcode,
        branch=kw.pop("branch", "CEN"),  # type: ignore[arg-type]
        actor="staff:1",
        now=kw.pop("now", NOW),  # type: ignore[arg-type]
    )


def give_back(session: Session, barcode: str, branch: str, now=NOW):  # type: ignore[no-untyped-def]
    return circ.check_in(session, barcode=barcode, branch=branch, actor="staff:1", now=now)


def status_of(session: Session, barcode: str) -> ItemStatus:
    return catalog_service.get_item(session, barcode).status


class TestCheckOut:
    def test_lends_and_freezes_the_terms_into_the_loan(self, session: Session) -> None:
        lib = make_library(session)
        loan = lend(session, lib, lib.items[0].barcode)
        assert status_of(session, lib.items[0].barcode) is ItemStatus.ON_LOAN
        default = next(r for r in circ.list_rules(session) if r.reader_category is None)
        circ.update_rule(
            session,
            rule_id=default.id,
            data=RuleFields(loan_days=7, renewals=0, fine_per_day_cents=500, fine_cap_cents=5000),
            actor="staff:1",
            now=NOW,
        )
        account = circ.reader_account(session, reader_id=lib.reader.id, now=NOW)
        assert account.loans[0].terms["loan_days"] == 30
        assert account.loans[0].renewals_left == 2
        assert account.loans[0].due_at == loan.due_at
        renewed = circ.renew(
            session, reader_id=lib.reader.id, barcode=lib.items[0].barcode, actor="r", now=NOW
        )
        assert renewed.renewals == 1  # the contract allowed 2, the edited rule allows 0

    def test_event_carries_terms_and_states_but_no_personal_data(self, session: Session) -> None:
        lib = make_library(session)
        loan = lend(session, lib, lib.items[0].barcode)
        ev = session.scalars(select(Event).where(Event.seq == loan.event_seq)).one()
        assert ev.type == "circulation.loan.checked_out"
        assert ev.payload["terms"]["loan_days"] == 30
        assert ev.payload["reader"] == f"reader:{lib.reader.id}"
        assert set(ev.payload["states"]) == {f"loan:{loan.id}", f"item:{lib.items[0].id}"}
        text = repr(ev.payload)
        assert lib.reader.name not in text and lib.reader.card_number not in text

    def test_refuses_an_item_already_on_loan(self, session: Session) -> None:
        lib = make_library(session)
        lend(session, lib, lib.items[0].barcode)
        with pytest.raises(AlreadyOnLoan):
            lend(session, lib, lib.items[0].barcode, reader=lib.readers[1].id)

    def test_refuses_an_expired_card(self, session: Session) -> None:
        lib = make_library(session)
        old = make_reader(session, expires_on=date(2026, 11, 20))
        with pytest.raises(CardExpired, match="2026-11-20"):
            lend(session, lib, lib.items[0].barcode, reader=old.id)

    def test_refuses_a_blocked_reader(self, session: Session) -> None:
        lib = make_library(session)
        accounts_service.update_reader(
            session,
            reader_id=lib.reader.id,
            data=ReaderUpdate(status="blocked"),  # type: ignore[arg-type]
            actor="staff:1",
            now=NOW,
        )
        with pytest.raises(ReaderBlocked, match="blocked"):
            lend(session, lib, lib.items[0].barcode)

    def test_refuses_over_the_loan_limit(self, session: Session) -> None:
        lib = make_library(session)
        child = make_reader(session, category="child")
        books = [make_item(session, lib.other) for _ in range(6)]
        for item in books[:5]:
            lend(session, lib, item.barcode, reader=child.id)
        with pytest.raises(LoanLimitReached, match="5 items"):
            lend(session, lib, books[5].barcode, reader=child.id)

    def test_refuses_over_the_limit_for_one_item_type(self, session: Session) -> None:
        lib = make_library(session)
        circ.create_rule(
            session,
            data=RuleFields(item_type="dvd", max_loans=10, max_loans_of_type=1, loan_days=7),
            actor="s",
            now=NOW,
        )
        dvds = [make_item(session, lib.other, item_type="dvd") for _ in range(2)]
        lend(session, lib, dvds[0].barcode)
        with pytest.raises(TypeLoanLimitReached, match="type dvd"):
            lend(session, lib, dvds[1].barcode)

    def test_refuses_a_reference_item(self, session: Session) -> None:
        lib = make_library(session)
        circ.create_rule(
            session, data=RuleFields(item_type="reference", loanable=False), actor="s", now=NOW
        )
        ref = make_item(session, lib.other, item_type="reference")
        with pytest.raises(ItemNotLoanable, match="in the library only"):
            lend(session, lib, ref.barcode)

    def test_refuses_a_copy_not_on_the_shelf(self, session: Session) -> None:
        lib = make_library(session)
        missing = make_item(session, lib.other, status=ItemStatus.MISSING)
        with pytest.raises(ItemUnavailable, match="missing"):
            lend(session, lib, missing.barcode)

    def test_refuses_a_reader_owing_more_than_the_limit(self, session: Session) -> None:
        lib = make_library(session)
        lend(session, lib, lib.items[0].barcode)
        give_back(session, lib.items[0].barcode, "CEN", NOW + timedelta(days=200))  # capped ¥10
        circ.create_rule(
            session,
            data=RuleFields(reader_category="adult", max_fines_cents=500),
            actor="s",
            now=NOW,
        )
        with pytest.raises(FinesOverLimit, match=r"¥10.00.*¥5.00"):
            lend(session, lib, lib.items[1].barcode, branch="B01")


class TestCheckIn:
    def test_returned_at_home_goes_back_to_the_shelf(self, session: Session) -> None:
        lib = make_library(session)
        lend(session, lib, lib.items[0].barcode)
        back = give_back(session, lib.items[0].barcode, "CEN")
        assert back.destination == "shelf" and back.loan is not None
        assert status_of(session, lib.items[0].barcode) is ItemStatus.AVAILABLE
        assert circ.reader_account(session, reader_id=lib.reader.id, now=NOW).loans == []

    def test_returned_elsewhere_travels_home_and_is_received_there(self, session: Session) -> None:
        lib = make_library(session)
        barcode = lib.items[0].barcode  # home CEN
        lend(session, lib, barcode)
        back = give_back(session, barcode, "B01")
        assert (back.destination, back.to_branch) == ("transit", "CEN")
        assert status_of(session, barcode) is ItemStatus.IN_TRANSIT
        assert [t.barcode for t in circ.transits(session, branch="CEN")] == [barcode]
        assert circ.item_status(session, barcode=barcode).transit_to == "CEN"
        arrived = give_back(session, barcode, "CEN")
        assert arrived.destination == "shelf" and arrived.loan is None
        assert circ.transits(session, branch="CEN") == []

    def test_an_item_not_on_loan_cannot_be_renewed(self, session: Session) -> None:
        lib = make_library(session)
        with pytest.raises(NotOnLoan):
            circ.renew(
                session, reader_id=lib.reader.id, barcode=lib.items[0].barcode, actor="r", now=NOW
            )


class TestRenew:
    def test_renewal_counts_from_today_and_has_a_limit(self, session: Session) -> None:
        lib = make_library(session)
        barcode = lib.items[0].barcode
        first = lend(session, lib, barcode)
        later = NOW + timedelta(days=25)
        renewed = circ.renew(
            session, reader_id=lib.reader.id, barcode=barcode, actor="r", now=later
        )
        assert renewed.due_at > first.due_at and renewed.renewals_left == 1
        circ.renew(session, reader_id=lib.reader.id, barcode=barcode, actor="r", now=later)
        with pytest.raises(RenewalLimitReached, match="2 times"):
            circ.renew(session, reader_id=lib.reader.id, barcode=barcode, actor="r", now=later)

    def test_someone_elses_loan_cannot_be_renewed(self, session: Session) -> None:
        lib = make_library(session)
        lend(session, lib, lib.items[0].barcode)
        with pytest.raises(NotYourLoan):
            circ.renew(
                session,
                reader_id=lib.readers[1].id,
                barcode=lib.items[0].barcode,
                actor="r",
                now=NOW,
            )

    def test_waiting_holds_block_renewal(self, session: Session) -> None:
        lib = make_library(session)
        barcode = lib.other_items[0].barcode
        lend(session, lib, barcode)
        circ.place_hold(
            session,
            reader_id=lib.readers[1].id,
            record_id=lib.other.id,
            pickup_branch="CEN",
            actor="r",
            now=NOW,
        )
        with pytest.raises(RenewalBlockedByHolds):
            circ.renew(session, reader_id=lib.reader.id, barcode=barcode, actor="r", now=NOW)
        result = circ.renew_all(session, reader_id=lib.reader.id, actor="r", now=NOW)
        assert result.renewed == []
        assert [r.error for r in result.refused] == ["RenewalBlockedByHolds"]


class TestItemHeldForAnother:
    def test_a_copy_on_the_hold_shelf_goes_only_to_its_reader(self, session: Session) -> None:
        lib = make_library(session)
        barcode = lib.other_items[0].barcode
        lend(session, lib, barcode)
        hold = circ.place_hold(
            session,
            reader_id=lib.readers[1].id,
            record_id=lib.other.id,
            pickup_branch="CEN",
            actor="r",
            now=NOW,
        )
        assert give_back(session, barcode, "CEN").destination == "hold_shelf"
        with pytest.raises(ItemOnHoldForAnother):
            lend(session, lib, barcode, reader=lib.readers[2].id)
        loan = lend(session, lib, barcode, reader=lib.readers[1].id)
        assert loan.barcode == barcode
        account = circ.reader_account(session, reader_id=lib.readers[1].id, now=NOW)
        assert account.holds == []  # fulfilled holds leave the list
        assert session.get(Hold, hold.id).status is HoldStatus.FULFILLED  # type: ignore[union-attr]

    def test_an_item_level_hold_keeps_that_copy_for_its_reader(self, session: Session) -> None:
        lib = make_library(session)
        circ.place_hold(
            session,
            reader_id=lib.readers[1].id,
            barcode=lib.items[0].barcode,
            pickup_branch="CEN",
            actor="r",
            now=NOW,
        )
        with pytest.raises(ItemOnHoldForAnother):
            lend(session, lib, lib.items[0].barcode)
        assert lend(session, lib, lib.items[1].barcode, branch="B01")  # another copy is fine
