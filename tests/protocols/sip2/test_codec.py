"""Reading and writing SIP2 messages, including what real kiosks and the sip2 client get wrong."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from Sip2.sip2 import Sip2

from shulian.protocols.sip2 import codec
from shulian.protocols.sip2.codec import ChecksumMismatch, Request, Response, SipFormatError

SHANGHAI = ZoneInfo("Asia/Shanghai")


def with_checksum(body: str, encoding: str = "utf-8", *, over: str = "bytes") -> bytes:
    text = body + "AZ"
    value = codec.checksum(text.encode(encoding) if over == "bytes" else text)
    return (text + f"{value:04X}").encode(encoding)


def client() -> Sip2:
    c = Sip2()
    c.log = logging.getLogger("tests.sip2client")
    c.institutionId = "CEN"
    return c


class TestChecksum:
    def test_matches_the_standards_example(self) -> None:
        # From the 3M specification: "09N19980821 085721              APCertification Terminal
        # Location|AOCertification Institute ID|ABCheckin Test Item|AY3AZ" -> EB80.
        msg = (
            "09N20160419    12200820160419    122008APReading Room 1|AO830|AB830$28170815|AC|AY2AZ"
        )
        assert codec.checksum(msg.encode()) == 0xEB80

    def test_a_message_plus_its_checksum_sums_to_zero(self) -> None:
        data = codec.encode(
            Response("98", "YYYYNN100003"), encoding="utf-8", sequence="4", checksummed=True
        )
        body, digits = data[:-5], data[-5:-1]
        assert (sum(body) + int(digits, 16)) & 0xFFFF == 0

    def test_resend_request_has_a_checksum_and_no_sequence(self) -> None:
        assert codec.resend_request() == b"96AZFEF6\r"
        assert codec.resend_request(checksummed=False) == b"96\r"


class TestParse:
    def test_reads_a_login_from_the_sip2_client(self) -> None:
        raw = client().sip_login_request("kiosk1", "s3cret pass").encode()
        req = codec.parse(raw, encoding="utf-8")
        assert req.code == "93"
        assert req.get("CN") == "kiosk1" and req.all("CO") == ["s3cret pass"]
        assert req.sequence == "0" and req.checksummed

    def test_reads_fixed_and_variable_fields_of_a_checkout(self) -> None:
        c = client()
        c.patron = "R0001"
        raw = c.sip_checkout_request("T0000001").encode()
        req = codec.parse(raw, encoding="utf-8")
        assert req.code == "11"
        assert req.fixed["sc_renewal_policy"] == "N"
        assert req.fixed["nb_due_date"] == " " * 18  # the client's blank due date
        assert req.get("AA") == "R0001" and req.get("AB") == "T0000001"
        assert req.get("AD") == ""

    def test_accepts_the_sip2_clients_checksum_over_characters(self) -> None:
        c = client()
        c.patron = "R0001"
        c.institutionId = "图书馆"
        raw = c.sip_checkout_request("T1").encode("utf-8")
        assert codec.parse(raw, encoding="utf-8").get("AO") == "图书馆"

    @pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
    @pytest.mark.parametrize("over", ["bytes", "characters"])
    def test_accepts_checksums_over_bytes_or_characters(self, encoding: str, over: str) -> None:
        raw = with_checksum("1720261121    093000AO中心馆|AB条码1|AY5", encoding, over=over)
        req = codec.parse(raw, encoding=encoding)
        assert req.get("AO") == "中心馆" and req.sequence == "5"

    def test_accepts_lower_case_and_unpadded_checksums(self) -> None:
        body = "9900802.00AY1AZ"
        value = codec.checksum(body.encode())
        for digits in (f"{value:x}", f"{value:X}", f"{value:04x}"):
            assert codec.parse((body + digits).encode(), encoding="utf-8").code == "99"

    def test_accepts_a_checksum_below_0x1000_without_padding(self) -> None:
        # The sip2 client prints format(value, "X"): three digits when the value is < 0x1000.
        text = "1720261121    093000AOX|ABI"
        while not 0 < codec.checksum(text + "|AY1AZ") < 0x1000:
            text += "~"
        text += "|AY1AZ"
        digits = format(codec.checksum(text), "X")
        assert len(digits) == 3
        assert codec.parse((text + digits).encode(), encoding="utf-8").get("AO") == "X"

    def test_refuses_a_wrong_checksum(self) -> None:
        raw = with_checksum("9900802.00AY1")
        damaged = raw.replace(b"802", b"803")
        with pytest.raises(ChecksumMismatch):
            codec.parse(damaged, encoding="utf-8")

    def test_messages_without_sequence_or_checksum(self) -> None:
        req = codec.parse(b"9900802.00", encoding="utf-8")
        assert req.sequence is None and not req.checksummed
        assert req.fixed == {
            "status_code": "0",
            "max_print_width": "080",
            "protocol_version": "2.00",
        }

    def test_renew_all_without_its_transaction_date(self) -> None:
        c = client()
        c.patron = "R0001"
        req = codec.parse(c.sip_renew_all_request().encode(), encoding="utf-8")
        assert req.fixed["transaction_date"] == "" and req.get("AA") == "R0001"

    def test_blank_fields_and_a_missing_bar_before_the_sequence(self) -> None:
        req = codec.parse(
            with_checksum("2300020261121    093000AOCEN|AAR1|AC|ADAY7"), encoding="utf-8"
        )
        assert req.get("AC") == "" and req.get("AD") == "" and req.sequence == "7"
        req = codec.parse(b"2300020261121    093000AOCEN|AAR1AY7", encoding="utf-8")
        assert req.get("AA") == "R1AY7" and req.sequence is None  # no checksum: taken as data

    def test_tolerates_crlf(self) -> None:
        assert codec.parse(b"9900802.00\r\n", encoding="utf-8").code == "99"

    @pytest.mark.parametrize(
        "raw",
        [
            b"",
            b"9",
            b"\x00\xff\xfe garbage",
            b"XX12345",
            b"0120261121    093000AOX",  # block patron: not answered
            b"1100",  # checkout cut short in its fixed part
            b"9900802.00AYx",  # a sequence number that is not a digit
            b"23000|AOCEN|garbage without a tag|x",
        ],
    )
    def test_refuses_what_it_cannot_read(self, raw: bytes) -> None:
        with pytest.raises(SipFormatError):
            codec.parse(raw, encoding="utf-8")

    def test_guesses_gb18030_for_bytes_that_are_not_utf8(self) -> None:
        assert codec.guess_encoding("中文".encode("gb18030")) == "gb18030"
        assert codec.guess_encoding("中文".encode()) == "utf-8"


class TestEncode:
    def test_mirrors_sequence_and_checksum_of_the_request(self) -> None:
        resp = Response("94", "1")
        assert codec.encode(resp, encoding="utf-8") == b"941\r"
        data = codec.encode(resp, encoding="utf-8", sequence="3", checksummed=True)
        assert data.startswith(b"941AY3AZ") and len(data) == len(b"941AY3AZ0000\r")

    def test_writes_text_in_the_kiosks_encoding(self) -> None:
        resp = Response("36", "Y").add("AF", "谢谢")
        assert "谢谢".encode("gb18030") in codec.encode(resp, encoding="gb18030")

    def test_field_values_cannot_break_framing(self) -> None:
        resp = Response("18", "").add("AJ", "a|b\rc\nd").add("AF", "x" * 1000)
        data = codec.encode(resp, encoding="utf-8")
        assert b"AJa/b c d|" in data
        assert data.count(b"\r") == 1
        af = data.split(b"AF")[1].split(b"|")[0].decode()
        assert len(af) == codec.MAX_FIELD_CHARS

    @pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
    def test_long_responses_drop_items_then_clip_texts(self, encoding: str) -> None:
        resp = Response("64", "0" * 61).add("AO", "CEN").add("AA", "R1")
        for i in range(400):
            resp.add("AU", f"T{i:07d}")
        resp.add("AF", "借阅须知" * 60).add("AG", "打印" * 100)
        data = codec.encode(resp, encoding=encoding, sequence="1", checksummed=True)
        assert len(data) <= codec.MAX_RESPONSE_BYTES
        assert b"AUT0000000|" in data and b"AUT0000399|" not in data
        data.decode(encoding)  # never half a character
        req_like = data.decode(encoding)
        assert req_like.startswith("64") and "AY1AZ" in req_like

    def test_clips_texts_when_items_are_not_enough(self) -> None:
        resp = Response("24", "").add("AA", "R1")
        for tag in ("AF", "AG", "AJ", "AE"):
            resp.add(tag, "书" * 250)
        data = codec.encode(resp, encoding="utf-8", limit=1200)
        assert len(data) <= 1200
        text = data.decode()
        assert "AAR1|" in text and "…" in text


class TestDates:
    def test_local_time_with_a_blank_zone(self) -> None:
        moment = datetime(2026, 11, 21, 1, 2, 3, tzinfo=UTC)
        assert codec.sip_date(moment, SHANGHAI) == "20261121    090203"
        assert codec.sip_date(None, SHANGHAI) == " " * 18


def test_request_helpers() -> None:
    req = Request("11", {}, (("AB", " T1 "), ("AU", "x"), ("AU", "y")))
    assert req.get("AB") == "T1" and req.get("ZZ", "-") == "-" and req.all("AU") == ["x", "y"]
