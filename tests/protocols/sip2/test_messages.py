"""End to end with the sip2 client from PyPI: a kiosk logs in, checks a patron, lends, returns,
renews, holds and takes a payment, against a real server and a committed database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from Sip2.sip2 import Sip2
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shulian.circulation import service as circulation_service
from shulian.core.events import Event
from shulian.protocols.sip2 import codec
from tests.conftest import NOW
from tests.factories.accounts import PASSWORD
from tests.protocols.sip2.conftest import (
    Kiosk,
    Patron,
    RunningServer,
    add_kiosk,
    add_patron,
    first,
    logged_in,
    sip_client,
)


@pytest.fixture(scope="module")
def kiosk(sip2_factory: sessionmaker[Session]) -> Kiosk:
    return add_kiosk(sip2_factory)


@pytest.fixture
def client(sip2_server: RunningServer, kiosk: Kiosk) -> Iterator[Sip2]:
    c = logged_in(sip2_server, kiosk)
    yield c
    c.disconnect()


@pytest.fixture
def patron(sip2_factory: sessionmaker[Session]) -> Patron:
    return add_patron(sip2_factory, copies=3)


def use(c: Sip2, p: Patron, password: str = "") -> Sip2:
    c.patron, c.patronpwd = p.card, password
    return c


def checkout(c: Sip2, barcode: str) -> dict:  # type: ignore[type-arg]
    return c.sip_checkout_response(c.get_response(c.sip_checkout_request(barcode)))


class TestLoginAndStatus:
    def test_status_after_login_allows_lending(self, client: Sip2, kiosk: Kiosk) -> None:
        status = client.sip_sc_status_response(client.get_response(client.sip_sc_status_request()))
        fixed = status["fixed"]
        assert (fixed["OnlineStatus"], fixed["CheckinOk"], fixed["CheckoutOk"]) == ("Y", "Y", "Y")
        assert fixed["ProtocolVersion"] == "2.00"
        assert first(status, "AO") == "CEN" and first(status, "AN") == kiosk.branch
        assert first(status, "BX") == "YYYNYYYYYYYNNYYY"

    def test_wrong_password_is_refused(self, sip2_server: RunningServer, kiosk: Kiosk) -> None:
        c = sip_client(sip2_server)
        resp = c.sip_login_response(c.get_response(c.sip_login_request(kiosk.login, "nope")))
        assert resp["fixed"]["Ok"] == "0"
        c.disconnect()

    def test_nothing_but_status_before_login(
        self, sip2_server: RunningServer, patron: Patron
    ) -> None:
        c = use(sip_client(sip2_server), patron)
        status = c.sip_sc_status_response(c.get_response(c.sip_sc_status_request()))
        assert status["fixed"]["CheckoutOk"] == "N"
        out = checkout(c, patron.barcodes[0])
        assert out["fixed"]["Ok"] == "0" and "93" in first(out, "AF")
        c.disconnect()


class TestPatron:
    def test_valid_patron_without_password(self, client: Sip2, patron: Patron) -> None:
        use(client, patron)
        resp = client.sip_patron_status_response(
            client.get_response(client.sip_patron_status_request())
        )
        assert first(resp, "BL") == "Y" and first(resp, "CQ") == "Y"
        assert first(resp, "AE") == "张*"  # masked for a public screen
        assert first(resp, "AA") == patron.card and first(resp, "BV") == "0.00"
        assert resp["fixed"]["PatronStatus"] == " " * 14

    def test_right_and_wrong_passwords(self, client: Sip2, patron: Patron) -> None:
        for password, valid in ((PASSWORD, "Y"), ("wrong-one", "N"), (PASSWORD, "Y")):
            use(client, patron, password)
            resp = client.sip_patron_status_response(
                client.get_response(client.sip_patron_status_request())
            )
            assert first(resp, "BL") == "Y" and first(resp, "CQ") == valid

    def test_wrong_password_cannot_borrow(self, client: Sip2, patron: Patron) -> None:
        out = checkout(use(client, patron, "wrong-one"), patron.barcodes[0])
        assert out["fixed"]["Ok"] == "0" and first(out, "AF") == "借书证号或密码错误"

    def test_wrong_passwords_hold_the_card_back_at_that_kiosk_only(
        self, sip2_server: RunningServer, sip2_factory: sessionmaker[Session], patron: Patron
    ) -> None:
        # Patron passwords share the web logins' throttle, the kiosk standing for the address.
        here = logged_in(sip2_server, add_kiosk(sip2_factory))
        use(here, patron, "wrong-one")
        for _ in range(4):
            status = here.sip_patron_status_response(
                here.get_response(here.sip_patron_status_request())
            )
            assert first(status, "CQ") == "N" and first(status, "AF") == ""
        # The fifth goes through a checkout, which a wrong password refuses: it counts too.
        out = checkout(here, patron.barcodes[0])
        assert out["fixed"]["Ok"] == "0" and first(out, "AF") == "借书证号或密码错误"
        use(here, patron, PASSWORD)
        status = here.sip_patron_status_response(
            here.get_response(here.sip_patron_status_request())
        )
        assert first(status, "BL") == "Y" and first(status, "CQ") == "N"
        assert first(status, "AF").startswith("登录失败次数过多，请 ")
        out = checkout(here, patron.barcodes[0])
        assert out["fixed"]["Ok"] == "0" and first(out, "AF").startswith("登录失败次数过多")
        here.disconnect()
        # The same card with its password at another kiosk: no wait at all.
        there = use(logged_in(sip2_server, add_kiosk(sip2_factory)), patron, PASSWORD)
        status = there.sip_patron_status_response(
            there.get_response(there.sip_patron_status_request())
        )
        assert first(status, "CQ") == "Y"
        assert checkout(there, patron.barcodes[0])["fixed"]["Ok"] == "1"
        there.disconnect()

    def test_unknown_card(self, client: Sip2) -> None:
        client.patron, client.patronpwd = "NOSUCHCARD", ""
        resp = client.sip_patron_status_response(
            client.get_response(client.sip_patron_status_request())
        )
        assert first(resp, "BL") == "N" and first(resp, "CQ") == "N"
        assert resp["fixed"]["PatronStatus"].startswith("YYYY")

    def test_patron_information_lists_loans(self, client: Sip2, patron: Patron) -> None:
        use(client, patron)
        for barcode in patron.barcodes[:2]:
            assert checkout(client, barcode)["fixed"]["Ok"] == "1"
        info = client.sip_patron_information_response(
            client.get_response(client.sip_patron_information_request("charged"))
        )
        assert info["fixed"]["ChargedItemsCount"] == "0002"
        assert info["fixed"]["OverdueItemsCount"] == "0000"
        assert sorted(info["variable"]["AU"]) == sorted(patron.barcodes[:2])
        none = client.sip_patron_information_response(
            client.get_response(client.sip_patron_information_request("none"))
        )
        assert "AU" not in none["variable"] and none["fixed"]["ChargedItemsCount"] == "0002"

    def test_end_session(self, client: Sip2, patron: Patron) -> None:
        use(client, patron)
        resp = client.sip_end_patron_session_response(
            client.get_response(client.sip_end_patron_session_request())
        )
        assert resp["fixed"]["EndSession"] == "Y" and first(resp, "AA") == patron.card


class TestLending:
    def test_checkout_then_checkin(
        self, client: Sip2, patron: Patron, sip2_factory: sessionmaker[Session]
    ) -> None:
        barcode = patron.barcodes[0]
        out = checkout(use(client, patron), barcode)
        assert out["fixed"]["Ok"] == "1" and out["fixed"]["Desensitize"] == "Y"
        assert first(out, "AB") == barcode and first(out, "AJ") == "狂人日记"
        assert len(first(out, "AH")) == 18 and first(out, "AF").startswith("应还日期")
        info = client.sip_item_information_response(
            client.get_response(client.sip_item_information_request(barcode))
        )
        assert info["fixed"]["CirculationStatus"] == "04"
        assert first(info, "AH") == first(out, "AH")
        back = client.sip_checkin_response(client.get_response(client.sip_checkin_request(barcode)))
        assert back["fixed"]["Ok"] == "1" and back["fixed"]["Alert"] == "N"
        assert first(back, "AB") == barcode and first(back, "AJ") == "狂人日记"
        info = client.sip_item_information_response(
            client.get_response(client.sip_item_information_request(barcode))
        )
        assert info["fixed"]["CirculationStatus"] == "03"
        with sip2_factory() as s:
            actors = set(s.scalars(select(Event.actor).where(Event.type.like("circulation.%"))))
        assert f"kiosk:{client_kiosk_id(sip2_factory)}" in actors

    def test_refusal_says_why_in_chinese(
        self, client: Sip2, sip2_factory: sessionmaker[Session]
    ) -> None:
        owner, other = add_patron(sip2_factory), add_patron(sip2_factory)
        assert checkout(use(client, owner), owner.barcodes[0])["fixed"]["Ok"] == "1"
        refused = checkout(use(client, other), owner.barcodes[0])
        assert refused["fixed"]["Ok"] == "0" and refused["fixed"]["Desensitize"] == "N"
        assert owner.barcodes[0] in first(refused, "AF") and "已被借出" in first(refused, "AF")

    def test_unknown_item(self, client: Sip2, patron: Patron) -> None:
        out = checkout(use(client, patron), "NO-SUCH-ITEM")
        assert out["fixed"]["Ok"] == "0" and first(out, "AF")
        info = client.sip_item_information_response(
            client.get_response(client.sip_item_information_request("NO-SUCH-ITEM"))
        )
        assert info["fixed"]["CirculationStatus"] == "01" and first(info, "AF")

    def test_renew_and_renew_all(self, client: Sip2, patron: Patron) -> None:
        use(client, patron)
        for barcode in patron.barcodes:
            assert checkout(client, barcode)["fixed"]["Ok"] == "1"
        for _ in range(2):  # the default rule allows two renewals
            renewed = client.sip_renew_response(
                client.get_response(client.sip_renew_request(patron.barcodes[0]))
            )
            assert renewed["fixed"]["Ok"] == "1" and renewed["fixed"]["RenewalOk"] == "Y"
        everything = client.sip_renew_all_response(
            client.get_response(client.sip_renew_all_request())
        )
        fixed = everything["fixed"]
        # The first item has used its renewals already.
        assert fixed["Ok"] == "1" and fixed["RenewedItems"] == "0002"
        assert fixed["UnrenewedItems"] == "0001"
        assert everything["variable"]["BN"] == [patron.barcodes[0]]
        assert sorted(everything["variable"]["BM"]) == sorted(patron.barcodes[1:])
        again = client.sip_renew_response(
            client.get_response(client.sip_renew_request(patron.barcodes[0]))
        )
        assert again["fixed"]["Ok"] == "0" and first(again, "AF")

    def test_renewal_policy_renews_a_second_checkout(self, client: Sip2, patron: Patron) -> None:
        use(client, patron)
        assert checkout(client, patron.barcodes[0])["fixed"]["Ok"] == "1"
        again = client.sip_checkout_response(
            client.get_response(
                client.sip_checkout_request(patron.barcodes[0], scRenewalPolicy="Y")
            )
        )
        assert again["fixed"]["Ok"] == "1" and again["fixed"]["RenewalOk"] == "Y"


class TestHoldsAndFees:
    def test_place_and_cancel_a_hold(
        self, client: Sip2, sip2_factory: sessionmaker[Session]
    ) -> None:
        owner, waiting = add_patron(sip2_factory), add_patron(sip2_factory)
        barcode = owner.barcodes[0]
        assert checkout(use(client, owner), barcode)["fixed"]["Ok"] == "1"
        use(client, waiting)
        placed = client.get_response(client.sip_hold_request("+", itemIdentifier=barcode))
        fields = response_fields(placed, 22)  # BW is a field, not fixed as the client thinks
        assert placed.startswith("161N") and fields["BR"] == "1" and fields["BS"] == "CEN"
        assert fields["AJ"] == "狂人日记" and fields["AA"] == waiting.card
        info = client.sip_item_information_response(
            client.get_response(client.sip_item_information_request(barcode))
        )
        assert first(info, "CF") == "0001"
        cancelled = client.get_response(client.sip_hold_request("-", itemIdentifier=barcode))
        assert cancelled.startswith("161N")
        again = client.get_response(client.sip_hold_request("-", itemIdentifier=barcode))
        assert again.startswith("160N")
        assert client.get_response(client.sip_hold_request("*", itemIdentifier=barcode)).startswith(
            "160"
        )

    def test_pay_a_fine(
        self,
        start_server: Callable[..., RunningServer],
        kiosk: Kiosk,
        client: Sip2,
        sip2_factory: sessionmaker[Session],
    ) -> None:
        p = add_patron(sip2_factory)
        past = start_server(clock=lambda: NOW - timedelta(days=60))
        early = use(logged_in(past, kiosk), p)
        assert checkout(early, p.barcodes[0])["fixed"]["Ok"] == "1"
        early.disconnect()
        back = client.sip_checkin_response(
            client.get_response(client.sip_checkin_request(p.barcodes[0]))
        )
        assert back["fixed"]["Ok"] == "1" and first(back, "AG").startswith("逾期")
        use(client, p)
        info = client.sip_patron_information_response(
            client.get_response(client.sip_patron_information_request("fine"))
        )
        owed = first(info, "BV")
        assert float(owed) > 0 and info["fixed"]["FineItemsCount"] == "0001"
        assert "AV" in info["variable"]
        paid = client.sip_fee_paid_response(
            client.get_response(client.sip_fee_paid_request(4, 0, owed, currencyType="CNY"))
        )
        assert paid["fixed"]["PaymentAccepted"] == "Y"
        wrong_currency = client.sip_fee_paid_response(
            client.get_response(client.sip_fee_paid_request(4, 0, "1.00"))  # the client's EUR
        )
        assert wrong_currency["fixed"]["PaymentAccepted"] == "N"
        with sip2_factory() as s:
            assert circulation_service.balance(s, p.id) == 0


class TestEncodings:
    def test_a_gb18030_kiosk(
        self, sip2_server: RunningServer, sip2_factory: sessionmaker[Session]
    ) -> None:
        gbk = add_kiosk(sip2_factory, encoding="gb18030")
        p = add_patron(sip2_factory, title="呐喊：鲁迅小说集")
        c = use(logged_in(sip2_server, gbk), p)
        c.institutionId = "中心馆"  # Chinese text in the request, summed by characters
        out = checkout(c, p.barcodes[0])
        assert out["fixed"]["Ok"] == "1" and first(out, "AJ") == "呐喊：鲁迅小说集"
        raw = c.last_response.encode("gb18030")
        at = raw.rindex(b"AZ") + 2
        assert codec.checksum(raw[:at]) == int(raw[at : at + 4], 16)  # our checksum: bytes
        c.disconnect()


def response_fields(response: str, fixed: int) -> dict[str, str]:
    """The variable fields of a raw response whose fixed part is ``fixed`` characters long."""
    body = response.rstrip("\r")
    body = body[: body.rindex("AY")] if "AY" in body else body
    return {piece[:2]: piece[2:] for piece in body[fixed:].split("|") if piece}


def client_kiosk_id(factory: sessionmaker[Session]) -> int:
    from shulian.selfservice.models import Kiosk as KioskRow

    with factory() as s:
        return int(s.scalar(select(func.min(KioskRow.id))) or 0)
