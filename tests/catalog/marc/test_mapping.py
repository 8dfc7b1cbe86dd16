from __future__ import annotations

import io

import pytest

from shulian.catalog.bib import BibData, Contributor, Format, ItemData, Role
from shulian.catalog.marc import (
    ParsedRecord,
    RejectedRecord,
    UnknownRecordFormat,
    read_records,
    sniff_format,
    write_records,
)

from .builders import DATA, PYMARC, field, iso2709, marc21


def parsed(data: bytes, **kwargs: str) -> list[BibData]:
    out = []
    for r in read_records(io.BytesIO(data), **kwargs):
        assert isinstance(r, ParsedRecord), r
        out.append(r.bib)
    return out


def sample() -> BibData:
    return BibData(
        title="红楼梦 : 新校注本",
        other_titles=["Hong lou meng", "石头记"],
        responsibility="曹雪芹, 高鹗著 ; 杨宪益译",
        contributors=[
            Contributor("曹雪芹", Role.AUTHOR),
            Contributor("高鹗", Role.AUTHOR),
            Contributor("杨宪益", Role.TRANSLATOR),
            Contributor("人民文学出版社编辑部", Role.EDITOR, corporate=True),
            Contributor("Smith, John", Role.ILLUSTRATOR),
        ],
        publisher="人民文学出版社",
        place="北京",
        year=2008,
        edition="第3版",
        isbns=["9787020002207 (pbk.)", "7-02-000220-X"],
        language="chi",
        subjects=["红学 -- 研究", "古典小说 -- 中国 -- 清代"],
        clc="I242.4",
        call_number="I242.4/C142",
        summary="中国古典四大名著之一。",
        series="中国古典文学读本丛书 ; 12",
        extent="2册 (1606页) ; 21cm",
        format=Format.BOOK,
        cover_url="https://covers.example.org/9787020002207.jpg",
        source_ids={"001": "CN000123"},
        items=[
            ItemData("C0001", branch="CEN", call_number="I242.4/C142", shelf="3F-12"),
            ItemData("C0002", branch="BR1", call_number="I242.4/C142", shelf="A-1"),
        ],
    )


class TestMarc21Reader:
    def test_reads_vernacular_title_from_880(self) -> None:
        bib = parsed((DATA / "loc-chinese-20.mrc").read_bytes())[0]
        assert bib.title == "頭戴之硬盔"
        assert bib.other_titles[0] == "Tou dai zhi ying kui"
        assert bib.contributors == [Contributor("吳正德", Role.AUTHOR)]
        assert bib.publisher == "財團法人李天禄布袋戲文敎基金會"
        assert bib.place == "台北縣三芝鄉"
        assert bib.year == 1998
        assert bib.language == "chi"
        assert bib.call_number == "NK4890.H4 W844 1998"
        assert bib.source_ids == {"001": "00049912", "003": "DLC", "035": "(CStRLIN)DCLP00-B10790"}

    def test_reads_subjects_with_subdivisions(self) -> None:
        bib = parsed((DATA / "loc-chinese-20.mrc").read_bytes())[0]
        assert bib.subjects[0] == "Headgear -- Taiwan -- Pictorial works"

    def test_reads_all_sample_records(self) -> None:
        assert len(parsed((DATA / "loc-first-20.mrc").read_bytes())) == 20

    def test_strips_isbd_punctuation(self) -> None:
        bib = parsed((PYMARC / "marc8.dat").read_bytes())[0]
        assert bib.title == "Escape from loneliness"
        assert bib.responsibility == "by Paul Tournier ; translated by John S. Gilmour"

    def test_roles_from_relator_terms_and_codes(self) -> None:
        data = marc21(
            "T",
            **{
                "100": field("1 ", "aLu, Xun,", "eauthor."),
                "700": field("1 ", "aYang, Xianyi,", "4trl"),
            },
        )
        bib = parsed(data)[0]
        assert bib.contributors == [
            Contributor("Lu, Xun", Role.AUTHOR),
            Contributor("Yang, Xianyi", Role.TRANSLATOR),
        ]

    def test_clc_from_084_and_year_from_008(self) -> None:
        data = iso2709(
            [
                ("001", "c1"),
                ("008", "080101s2008    cc            000 0 chi d"),
                ("084", field("  ", "aI247.5", "2clc")),
                ("245", field("10", "a活着")),
            ]
        )
        bib = parsed(data)[0]
        assert (bib.clc, bib.year, bib.language) == ("I247.5", 2008, "chi")

    @pytest.mark.parametrize(
        ("leader", "f007", "expected"),
        [
            ("00000nim a2200000   4500", "", Format.AUDIOBOOK),
            ("00000ngm a2200000   4500", "", Format.VIDEO),
            ("00000nmm a2200000   4500", "", Format.EBOOK),
            ("00000nam a2200000   4500", "cr |||", Format.EBOOK),
            ("00000nas a2200000   4500", "", Format.PERIODICAL),
            ("00000nam a2200000   4500", "", Format.BOOK),
        ],
    )
    def test_format_from_leader_and_007(self, leader: str, f007: str, expected: Format) -> None:
        fields = [("001", "f")] + ([("007", f007)] if f007 else [])
        fields.append(("245", field("00", "aX")))
        assert parsed(iso2709(fields, leader=leader))[0].format is expected

    def test_koha_952_and_852_become_items(self) -> None:
        data = marc21(
            "T",
            **{
                "852": field("  ", "bCEN", "hPL2658", "i.C5", "p3900001"),
                "952": field("  ", "aBR1", "oI247/1", "p3900002", "yBK", "gCNY45.00"),
            },
        )
        items = parsed(data)[0].items
        assert items == [
            ItemData("3900001", branch="CEN", call_number="PL2658 .C5"),
            ItemData(
                "3900002", branch="BR1", call_number="I247/1", item_type="BK", price="CNY45.00"
            ),
        ]

    def test_empty_title_is_rejected(self) -> None:
        data = marc21("", "xyz")
        (result,) = list(read_records(io.BytesIO(data)))
        assert isinstance(result, RejectedRecord)
        assert result.reason == "record 1 (001 xyz): no title (245$a is empty)"


class TestRoundTrips:
    @pytest.mark.parametrize("fmt", ["marc21", "marcxml", "unimarc", "csv"])
    def test_bibdata_survives_a_round_trip(self, fmt: str) -> None:
        original = sample()
        if fmt == "csv":  # one row = one copy
            original.items = original.items[:1]
            original.contributors = [c for c in original.contributors if not c.corporate]
        out = io.BytesIO()
        write_records([original, BibData(title="Second")], out, format=fmt)
        data = out.getvalue()
        assert sniff_format(data[:4096]) == fmt
        back = parsed(data)
        assert back[0] == original
        assert back[1].title == "Second"

    def test_marc21_writer_sets_lengths_and_utf8_flag(self) -> None:
        out = io.BytesIO()
        write_records([sample()], out, format="marc21")
        data = out.getvalue()
        assert int(data[:5]) == len(data)
        assert data[9:10] == b"a"
        base = int(data[12:17])
        assert data[base - 1 : base] == b"\x1e"
        import pymarc

        (rec,) = list(pymarc.MARCReader(io.BytesIO(data), to_unicode=True))
        assert rec["245"]["a"] == "红楼梦 :"

    def test_loc_records_survive_marc21_and_marcxml_round_trips(self) -> None:
        originals = parsed((DATA / "loc-chinese-20.mrc").read_bytes())
        for fmt in ("marc21", "marcxml"):
            out = io.BytesIO()
            write_records(originals, out, format=fmt)
            assert parsed(out.getvalue(), format=fmt) == originals

    def test_unknown_format_is_a_bad_request(self) -> None:
        with pytest.raises(UnknownRecordFormat, match="Unknown record format pdf"):
            write_records([], io.BytesIO(), format="pdf")
        with pytest.raises(UnknownRecordFormat):
            read_records(io.BytesIO(b""), format="pdf")


class TestMarcXml:
    def test_reads_a_collection(self) -> None:
        bibs = parsed((PYMARC / "batch.xml").read_bytes())
        assert len(bibs) == 2
        assert bibs[0].title

    def test_reads_a_bare_record(self) -> None:
        xml = (
            b'<record xmlns="http://www.loc.gov/MARC21/slim"><leader>00000nam a2200000   4500'
            b'</leader><controlfield tag="001">b1</controlfield><datafield tag="245" ind1="1" '
            b'ind2="0"><subfield code="a">Bare :</subfield><subfield code="b">record</subfield>'
            b"</datafield></record>"
        )
        assert parsed(xml)[0].title == "Bare : record"

    def test_bad_tag_is_rejected_with_reasons(self) -> None:
        (result,) = list(read_records(io.BytesIO((PYMARC / "bad_tag.xml").read_bytes())))
        assert isinstance(result, RejectedRecord)
        assert result.reason == (
            "record 1: data field tag '42' is not three letters or digits; "
            "the leader is 17 characters, not 24"
        )

    def test_bad_record_does_not_stop_the_collection(self) -> None:
        out = io.BytesIO()
        write_records(
            [BibData(title="A"), BibData(title="B"), BibData(title="C")], out, format="marcxml"
        )
        xml = out.getvalue().replace(b'tag="245"', b'tag="2x45"', 1)
        results = list(read_records(io.BytesIO(xml)))
        assert [type(r).__name__ for r in results] == [
            "RejectedRecord",
            "ParsedRecord",
            "ParsedRecord",
        ]

    def test_malformed_xml_rejects_the_current_record(self) -> None:
        out = io.BytesIO()
        write_records([BibData(title="A"), BibData(title="B")], out, format="marcxml")
        xml = out.getvalue()
        cut = xml[: xml.rindex(b"<record>") + 30]
        results = list(read_records(io.BytesIO(cut)))
        assert isinstance(results[0], ParsedRecord)
        assert isinstance(results[1], RejectedRecord)
        assert results[1].reason.startswith("record 2: the XML is malformed")

    def test_10_mb_subfield_is_rejected_naming_the_tag(self) -> None:
        huge = "x" * (10 * 1024 * 1024)
        xml = (
            '<collection xmlns="http://www.loc.gov/MARC21/slim"><record><leader>00000nam a2200000'
            '   4500</leader><datafield tag="245" ind1="1" ind2="0"><subfield code="a">'
            f"{huge}</subfield></datafield></record></collection>"
        ).encode()
        (result,) = list(read_records(io.BytesIO(xml)))
        assert isinstance(result, RejectedRecord)
        assert result.reason == "record 1: field 245 is 10,485,765 bytes; the limit is 9,999"
