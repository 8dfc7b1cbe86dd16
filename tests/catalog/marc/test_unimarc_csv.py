from __future__ import annotations

import io

import pytest

from shulian.catalog.bib import Contributor, ItemData, Role
from shulian.catalog.marc import ParsedRecord, RejectedRecord, read_records

from .builders import PYMARC, field, iso2709

CNMARC_LEADER = "00000nam0 2200000   450 "


def cnmarc(encoding: str, charset: str = "50") -> bytes:
    return iso2709(
        [
            ("001", "012345678"),
            ("010", field("  ", "a978-7-02-000220-7", "dCNY59.70")),
            ("100", field("  ", f"a20080101d2008    em y0chiy{charset}      ea")),
            ("101", field("0 ", "achi")),
            ("200", field("1 ", "a红楼梦", "e新校注本", "f曹雪芹著", "g杨宪益译")),
            ("205", field("  ", "a第3版")),
            ("210", field("  ", "a北京", "c人民文学出版社", "d2008")),
            ("215", field("  ", "a2册", "d21cm")),
            ("225", field("2 ", "a中国古典文学读本丛书", "v12")),
            ("330", field("  ", "a中国古典四大名著之一。")),
            ("606", field("0 ", "a古典小说", "y中国", "z清代")),
            ("690", field("  ", "aI242.4", "v5")),
            ("701", field(" 0", "a曹雪芹", "4070")),
            ("702", field(" 0", "a杨宪益", "4730")),
            ("712", field("02", "a人民文学出版社编辑部", "4340")),
            ("905", field("  ", "aCEN", "bC0001", "dI242.4", "eC142")),
        ],
        encoding=encoding,
        leader=CNMARC_LEADER,
    )


class TestUnimarcReader:
    def test_reads_the_italian_sbn_record(self) -> None:
        (result,) = list(read_records(io.BytesIO((PYMARC / "testunimarc.dat").read_bytes())))
        assert isinstance(result, ParsedRecord)
        bib = result.bib
        assert bib.title == "L'altra faccia della spirale"  # non-sort markers removed
        assert bib.contributors[0] == Contributor("Asimov, Isaac", Role.AUTHOR)
        assert (bib.publisher, bib.place, bib.year, bib.language) == (
            "A. Mondadori",
            "Milano",
            1996,
            "ita",
        )
        assert bib.isbns == ["88-04-40682-8"]

    @pytest.mark.parametrize(("encoding", "charset"), [("utf-8", "50"), ("gb18030", "0b")])
    def test_reads_cnmarc_in_utf8_and_gb18030(self, encoding: str, charset: str) -> None:
        data = cnmarc(encoding, charset)
        (result,) = list(read_records(io.BytesIO(data)))
        assert isinstance(result, ParsedRecord), result
        bib = result.bib
        assert bib.title == "红楼梦 : 新校注本"
        assert bib.responsibility == "曹雪芹著 ; 杨宪益译"
        assert bib.contributors == [
            Contributor("曹雪芹", Role.AUTHOR),
            Contributor("杨宪益", Role.TRANSLATOR),
            Contributor("人民文学出版社编辑部", Role.EDITOR, corporate=True),
        ]
        assert (bib.publisher, bib.place, bib.year) == ("人民文学出版社", "北京", 2008)
        assert (bib.edition, bib.extent, bib.series) == (
            "第3版",
            "2册 21cm",
            "中国古典文学读本丛书 ; 12",
        )
        assert bib.subjects == ["古典小说 -- 中国 -- 清代"]
        assert (bib.clc, bib.call_number, bib.language) == ("I242.4", "I242.4/C142", "chi")
        assert bib.items == [
            ItemData("C0001", branch="CEN", call_number="I242.4/C142", price="CNY59.70")
        ]
        assert result.warnings == []

    def test_gb18030_declared_utf8_is_read_with_a_warning(self) -> None:
        (result,) = list(read_records(io.BytesIO(cnmarc("gb18030", "50"))))
        assert isinstance(result, ParsedRecord)
        assert result.bib.title == "红楼梦 : 新校注本"
        assert result.warnings == ["record claims UTF-8 but its text is GB18030 (GBK)"]

    def test_empty_title_is_rejected(self) -> None:
        data = iso2709([("001", "u1"), ("200", field("1 ", "a"))], leader=CNMARC_LEADER)
        (result,) = list(read_records(io.BytesIO(data), format="unimarc"))
        assert isinstance(result, RejectedRecord)
        assert result.reason == "record 1 (001 u1): no title (200$a is empty)"


class TestCsv:
    def read(self, text: str, encoding: str = "utf-8") -> list[ParsedRecord | RejectedRecord]:
        return list(read_records(io.BytesIO(text.encode(encoding)), format="csv"))

    def test_reads_multivalued_cells_and_one_copy(self) -> None:
        (result,) = self.read(
            "title,authors,isbn,year,barcode,branch,price\n"
            "活着,余华 | 白睿文 (translator),9787506365437 | 7506365437,2012,B1,CEN,CNY20.00\n"
        )
        assert isinstance(result, ParsedRecord)
        bib = result.bib
        assert bib.contributors == [Contributor("余华"), Contributor("白睿文", Role.TRANSLATOR)]
        assert bib.isbns == ["9787506365437", "7506365437"]
        assert bib.items == [ItemData("B1", branch="CEN", price="CNY20.00")]

    def test_rejects_empty_title_and_bad_year_naming_line_and_column(self) -> None:
        results = self.read("title,year,source_id\n,2001,a1\nOK,2001,a2\nX,20x1,a3\n")
        assert [type(r).__name__ for r in results] == [
            "RejectedRecord",
            "ParsedRecord",
            "RejectedRecord",
        ]
        assert results[0].reason == (  # type: ignore[union-attr]
            "record 1 (line 2, source_id a1): no title (column title is empty)"
        )
        assert results[2].reason == (  # type: ignore[union-attr]
            "record 3 (line 4, source_id a3): column year: '20x1' is not a whole number"
        )

    @pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
    def test_reads_bom_utf8_and_gb18030(self, encoding: str) -> None:
        (result,) = self.read("title,publisher\n红楼梦,人民文学出版社\n", encoding)
        assert isinstance(result, ParsedRecord)
        assert (result.bib.title, result.bib.publisher) == ("红楼梦", "人民文学出版社")
