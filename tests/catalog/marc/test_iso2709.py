from __future__ import annotations

import io

import pymarc
import pytest

from shulian.catalog.marc import ParsedRecord, RejectedRecord, read_records
from shulian.catalog.marc.iso2709 import parse_record, split_records

from .builders import PYMARC, field, iso2709, marc21


def read(data: bytes, **kwargs: str) -> list[ParsedRecord | RejectedRecord]:
    return list(read_records(io.BytesIO(data), **kwargs))


def read_file(name: str, **kwargs: str) -> list[ParsedRecord | RejectedRecord]:
    return read((PYMARC / name).read_bytes(), **kwargs)


def only_rejection(results: list[ParsedRecord | RejectedRecord]) -> RejectedRecord:
    assert len(results) == 1
    assert isinstance(results[0], RejectedRecord), results[0]
    return results[0]


class TestSplitting:
    def test_reads_every_record_of_a_clean_file(self) -> None:
        results = read_file("test.dat")
        assert len(results) == 10
        assert all(isinstance(r, ParsedRecord) for r in results)
        assert [r.number for r in results] == list(range(1, 11))

    def test_skips_whitespace_between_records(self) -> None:
        data = marc21("One", "a") + b"\r\n" + marc21("Two", "b") + b"\n  \n"
        assert [r.bib.title for r in read(data) if isinstance(r, ParsedRecord)] == ["One", "Two"]

    def test_bad_records_are_rejected_and_good_ones_read(self) -> None:
        results = read_file("bad_records.mrc")
        kinds = [type(r).__name__ for r in results]
        assert kinds == [
            "ParsedRecord",
            *["RejectedRecord"] * 6,
            "ParsedRecord",
            "RejectedRecord",
        ]
        reasons = [r.reason for r in results if isinstance(r, RejectedRecord)]
        assert reasons[0] == (
            "record 2: the base address 99937 is past the end of the record (126 bytes)"
        )
        assert "base address 0 is wrong" in reasons[1]
        assert "not a multiple of 12" in reasons[2]
        assert "'f0037'" in reasons[4]
        assert reasons[5] == "record 7: the record has no fields"
        assert reasons[6].startswith("record 9: truncated")
        offsets = [r.offset for r in results if isinstance(r, RejectedRecord)]
        assert offsets[0] == 127

    def test_rejection_names_the_001_and_the_directory_entry(self) -> None:
        rejected = only_rejection(read_file("bad_indicator.dat"))
        assert rejected.source_id == "426705"
        assert rejected.reason == "record 1 (001 426705): directory entry 1 has a bad tag b'0 2'"

    def test_directory_disagreeing_with_terminators_reads_by_terminator_with_warning(
        self,
    ) -> None:
        bad = bytearray(marc21("Shifted", "x1"))
        entry = bad.index(b"245", 24)
        bad[entry + 3 : entry + 7] = b"0999"
        result = read(bytes(bad))[0]
        assert isinstance(result, ParsedRecord) and result.bib.title == "Shifted"
        assert result.warnings == [
            "directory entry 2 (245) points past the end of the record; "
            "fields read by their terminators instead"
        ]

    def test_missing_field_terminator_is_rejected_then_reading_goes_on(self) -> None:
        bad = bytearray(marc21("Broken", "x1"))
        bad[bad.index(b"x1\x1e") + 2] = ord("!")
        data = marc21("Before", "x0") + bytes(bad) + marc21("After", "x2")
        results = read(data)
        assert isinstance(results[0], ParsedRecord)
        assert isinstance(results[2], ParsedRecord) and results[2].bib.title == "After"
        assert results[1].reason == (  # type: ignore[union-attr]
            "record 2 (001 x1!): field 001 (directory entry 1) does not end where the "
            "directory says"
        )

    def test_field_with_missing_indicators_is_a_bad_indicator(self) -> None:
        data = iso2709([("001", "n1"), ("245", "\x1faNo indicators")])
        assert "field 245 has no indicators (bad indicator)" in only_rejection(read(data)).reason

    def test_extra_indicator_characters_are_a_warning(self) -> None:
        data = iso2709([("001", "i3"), ("245", "10\\\x1faThree indicators")])
        result = read(data)[0]
        assert isinstance(result, ParsedRecord) and result.bib.title == "Three indicators"
        assert result.warnings == ["field 245 has 3 indicator characters; kept the first two"]

    def test_pymarc_regression_file_reads(self) -> None:
        results = read_file("regression45.dat")
        assert len(results) == 12
        assert all(isinstance(r, ParsedRecord) for r in results)

    def test_bad_subfield_code_is_rejected_naming_the_field(self) -> None:
        rejected = only_rejection(read_file("bad_subfield_code.dat"))
        assert rejected.reason == (
            "record 1 (001 fol05731351): field 245 has a bad subfield code 0xC3 "
            "(not an ASCII letter or digit)"
        )

    def test_alphabetic_tags_are_read(self) -> None:
        results = read_file("alphatag.dat")
        assert isinstance(results[0], ParsedRecord)
        assert results[0].bib.title == "Chemistry experiments for children"


class TestRunawayField:
    def test_a_10_mb_field_is_rejected_and_the_next_record_read(self) -> None:
        huge = "x" * (10 * 1024 * 1024)
        broken = iso2709([("001", "big1"), ("245", field("10", "a" + huge))])
        broken = b"99999" + broken[8:]  # a garbage length: eight digits do not fit in five
        data = marc21("Before", "b0") + broken + marc21("After", "b2")
        results = read(data)
        assert [type(r).__name__ for r in results] == [
            "ParsedRecord",
            "RejectedRecord",
            "ParsedRecord",
        ]
        reason = results[1].reason  # type: ignore[union-attr]
        assert reason.startswith("record 2: field 245 has no field terminator")
        assert "ISO 2709 allows at most 99,999" in reason
        assert results[2].bib.title == "After"  # type: ignore[union-attr]

    def test_garbage_without_terminator_is_skipped_in_bounded_chunks(self) -> None:
        data = b"12345" + b"z" * 3_000_000 + b"\x1d" + marc21("After", "g2")
        chunks = list(split_records(io.BytesIO(data)))
        assert len(chunks) == 2
        assert chunks[0].problem and "no record terminator" in chunks[0].problem
        assert len(chunks[0].data) <= 99_999
        assert chunks[1].offset == 3_000_006


class TestEncodings:
    def test_marc8_titles_match_pymarc(self) -> None:
        for name in ("marc8.dat", "test.dat"):
            ours = [r.bib.title for r in read_file(name) if isinstance(r, ParsedRecord)]
            with (PYMARC / name).open("rb") as fh:
                theirs = [r["245"]["a"] for r in pymarc.MARCReader(fh, to_unicode=True) if r]
            assert len(ours) == len(theirs)
            for mine, ref in zip(ours, theirs, strict=True):
                assert mine.startswith(ref.rstrip(" /:;.")), (mine, ref)

    def test_marc8_diacritics_are_decoded_to_nfc(self) -> None:
        data = marc21("Soci\xe2et\xe2e", "m8").replace(b"a2200", b" 2200")
        data = data.replace("Soci\xe2et\xe2e".encode(), b"Soci\xe2et\xe2e")
        result = read(data)[0]
        assert isinstance(result, ParsedRecord)
        assert result.bib.title == "Société"

    def test_record_flagged_marc8_but_utf8_is_read_as_utf8(self) -> None:
        ours = read_file("utf8_without_leader_flag.dat")
        flagged = read_file("utf8_with_leader_flag.dat")
        assert isinstance(ours[0], ParsedRecord) and isinstance(flagged[0], ParsedRecord)
        assert ours[0].bib == flagged[0].bib
        raw = parse_record((PYMARC / "utf8_without_leader_flag.dat").read_bytes())
        assert raw.leader[9] == " "
        assert "De la solitude a\u0300 la communaute\u0301." in str(raw.fields)

    def test_utf8_errors_file_is_valid_utf8_and_decoded(self) -> None:
        result = read_file("utf8_errors.dat")[0]
        assert isinstance(result, ParsedRecord)
        assert result.bib.title == "Imperial military middle school, Ṣanʻāʾ"

    def test_invalid_utf8_names_the_record_field_and_byte(self) -> None:
        good = (PYMARC / "utf8_errors.dat").read_bytes()
        bad = good.replace(b"S\xcc\xa3an", b"S\xcc\xffan", 1)
        results = read(marc21("First", "f1") + bad + marc21("Last", "f3"))
        assert isinstance(results[0], ParsedRecord) and isinstance(results[2], ParsedRecord)
        assert results[1].reason == (  # type: ignore[union-attr]
            "record 2 (001 2001700030): field 245 is not valid UTF-8 (byte 0xCC at position 35)"
        )

    def test_utf8_invalid_file_rejects_the_replacement_subfield_code(self) -> None:
        rejected = only_rejection(read_file("utf8_invalid.mrc"))
        assert rejected.reason == (
            "record 1 (001 144917): field 260 has a bad subfield code 0xEF "
            "(not an ASCII letter or digit)"
        )

    def test_bad_marc8_escape_is_rejected(self) -> None:
        rejected = only_rejection(read_file("bad_marc8_escape.dat"))
        assert rejected.reason == (
            "record 1 (001 2429943): field 222 is not valid MARC-8 "
            "(invalid escape sequence ESC 0x74 at position 19)"
        )

    def test_bad_eacc_character_is_rejected(self) -> None:
        rejected = only_rejection(read_file("bad_eacc_encoding.dat"))
        assert "field 880 is not valid MARC-8 (unknown East Asian character" in rejected.reason

    def test_cp1251_file_is_rejected_without_override(self) -> None:
        results = read_file("1251.dat")
        assert len(results) == 6
        assert all(isinstance(r, RejectedRecord) for r in results)
        assert "is not valid MARC-8 (byte 0xFF at position 4" in results[0].reason  # type: ignore[union-attr]

    def test_cp1251_file_reads_with_encoding_override(self) -> None:
        results = read_file("1251.dat", encoding="cp1251")
        assert all(isinstance(r, ParsedRecord) for r in results)
        titles = [r.bib.title for r in results]  # type: ignore[union-attr]
        assert titles[0].startswith("Основы гидравлического расчета инженерных сетей")
        assert all(any("\u0400" <= ch <= "\u04ff" for ch in t) for t in titles)

    def test_gb18030_record_flagged_utf8_is_detected_with_a_warning(self) -> None:
        data = iso2709(
            [("001", "gb1"), ("245", field("10", "a红楼梦", "c曹雪芹著"))], encoding="gb18030"
        )
        result = read(data)[0]
        assert isinstance(result, ParsedRecord)
        assert result.bib.title == "红楼梦"
        assert result.bib.responsibility == "曹雪芹著"
        assert result.warnings == ["record claims UTF-8 but its text is GB18030 (GBK)"]

    def test_gbk_with_encoding_override_reads_rare_characters(self) -> None:
        # 丂 (0x8140) has a low trail byte: not auto-detected, read with encoding="gbk".
        data = iso2709([("001", "gb2"), ("245", field("10", "a丂丄"))], encoding="gbk")
        assert isinstance(read(data)[0], RejectedRecord)
        result = read(data, encoding="gbk")[0]
        assert isinstance(result, ParsedRecord) and result.bib.title == "丂丄"

    def test_unknown_encoding_override_is_a_bad_request(self) -> None:
        from shulian.catalog.marc import UnknownEncoding

        with pytest.raises(UnknownEncoding, match="Unknown character encoding klingon"):
            read(marc21("x"), encoding="klingon")
