"""Bulk import: merge by ISBN and by title/author/year, bad records reported, resume after an
interruption, export back. Runs against a real committed database (SQLite file or PostgreSQL)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from shulian.catalog import importer
from shulian.catalog.bib import BibData, Contributor, ItemData
from shulian.catalog.errors import ImportJobNotFound
from shulian.catalog.marc import read_records, write_records
from shulian.catalog.models import ImportJob, ImportNote, Item, Record
from shulian.catalog.schemas import RecordStatus
from shulian.core.db import make_sessionmaker, session_scope
from shulian.core.events import Event
from tests.conftest import NOW
from tests.factories.consortium import make_network


@pytest.fixture
def factory(scratch_engines: Callable[..., Engine]) -> Iterator[sessionmaker[Session]]:
    f = make_sessionmaker(scratch_engines())
    with session_scope(f) as s:
        make_network(s)
    yield f


def bib(n: int, **kw: object) -> BibData:
    data: dict[str, object] = {
        "title": f"图书馆学概论 第{n}卷",
        "contributors": [Contributor(f"作者{n}")],
        "year": 2000 + n % 20,
        "publisher": "北京图书馆出版社",
        "items": [ItemData(barcode=f"B{n:06d}", branch="CEN")],
        "source_ids": {"001": f"rec{n}"},
    }
    data.update(kw)
    return BibData(**data)  # type: ignore[arg-type]


def write(path: Path, bibs: list[BibData], format: str = "marc21") -> Path:
    with path.open("wb") as f:
        write_records(bibs, f, format=format)
    return path


def counts(f: sessionmaker[Session]) -> tuple[int, int]:
    with f() as s:
        return (
            s.scalar(select(func.count(Record.id))) or 0,
            s.scalar(select(func.count(Item.id))) or 0,
        )


def run(f: sessionmaker[Session], path: Path, **kw: object) -> ImportJob:
    job_id = importer.import_file(f, path, actor="test", clock=lambda: NOW, **kw)  # type: ignore[arg-type]
    with f() as s:
        job = s.get_one(ImportJob, job_id)
        s.expunge(job)
        return job


class TestImport:
    def test_imports_records_with_items_as_drafts(
        self, factory: sessionmaker[Session], tmp_path: Path
    ) -> None:
        job = run(factory, write(tmp_path / "a.mrc", [bib(n) for n in range(1, 6)]))
        assert (job.imported, job.merged, job.rejected, job.items_added) == (5, 0, 0, 5)
        assert job.finished_at is not None
        with factory() as s:
            statuses = set(s.scalars(select(Record.status)))
            assert statuses == {RecordStatus.DRAFT}
            kinds = [e.type for e in s.scalars(select(Event).order_by(Event.seq))]
            assert kinds.count("catalog.record.imported") == 5
            assert kinds.count("catalog.item.added") == 5

    def test_a_second_copy_merges_by_isbn_and_brings_its_items(
        self, factory: sessionmaker[Session], tmp_path: Path
    ) -> None:
        run(factory, write(tmp_path / "a.mrc", [bib(1, isbns=["7-02-000220-X"])]))
        again = bib(1, title="完全不同的题名", isbns=["9787020002207"])
        again.items = [ItemData(barcode="B999999", branch="B01")]
        job = run(factory, write(tmp_path / "b.mrc", [again]))
        assert (job.imported, job.merged, job.items_added) == (0, 1, 1)
        assert counts(factory) == (1, 2)

    def test_duplicates_without_isbn_merge_on_normalised_title_author_year(
        self, factory: sessionmaker[Session], tmp_path: Path
    ) -> None:
        first = bib(1, title="紅樓夢", contributors=[Contributor("曹雪芹")], year=1982)
        second = bib(2, title="红楼梦.", contributors=[Contributor("曹雪芹")], year=1982)
        other_year = bib(3, title="红楼梦", contributors=[Contributor("曹雪芹")], year=1996)
        job = run(factory, write(tmp_path / "a.mrc", [first, second, other_year]))
        assert (job.imported, job.merged) == (2, 1)
        assert counts(factory) == (2, 3)

    def test_bad_records_are_reported_and_the_rest_imported(
        self, factory: sessionmaker[Session], tmp_path: Path
    ) -> None:
        good = io.BytesIO()
        write_records([bib(1), bib(2)], good, format="marc21")
        raw = good.getvalue()
        first_end = raw.index(b"\x1d") + 1
        broken = raw[:first_end] + b"00042garbage that is not a MARC record\x1d" + raw[first_end:]
        path = tmp_path / "broken.mrc"
        path.write_bytes(broken)
        job = run(factory, path)
        assert (job.imported, job.rejected) == (2, 1)
        with factory() as s:
            note = s.scalars(select(ImportNote).where(ImportNote.rejected.is_(True))).one()
        assert note.number == 2 and note.reason

    def test_a_bad_isbn_is_dropped_with_a_warning_and_the_record_kept(
        self, factory: sessionmaker[Session], tmp_path: Path
    ) -> None:
        job = run(factory, write(tmp_path / "a.mrc", [bib(1, isbns=["7-02-000220-1"])]))
        assert (job.imported, job.rejected) == (1, 0)
        with factory() as s:
            note = s.scalars(select(ImportNote)).one()
        assert not note.rejected and "7-02-000220-1" in note.reason

    def test_an_item_with_a_taken_barcode_is_skipped_with_a_warning(
        self, factory: sessionmaker[Session], tmp_path: Path
    ) -> None:
        a, b = bib(1), bib(2)
        b.items = [ItemData(barcode="B000001", branch="CEN")]
        job = run(factory, write(tmp_path / "a.mrc", [a, b]))
        assert (job.imported, job.items_added) == (2, 1)
        with factory() as s:
            assert "B000001" in s.scalars(select(ImportNote.reason)).one()

    def test_an_interrupted_import_resumes_without_duplicates(
        self, factory: sessionmaker[Session], tmp_path: Path
    ) -> None:
        path = write(tmp_path / "big.mrc", [bib(n) for n in range(1, 26)])
        first = run(factory, path, batch_size=10, max_batches=1)
        assert first.finished_at is None and first.position == 10
        assert counts(factory) == (10, 10)
        second = run(factory, path, batch_size=10)
        assert second.id == first.id and second.finished_at is not None
        assert (second.imported, second.merged) == (25, 0)
        assert counts(factory) == (25, 25)

    def test_publish_makes_records_visible_at_once(
        self, factory: sessionmaker[Session], tmp_path: Path
    ) -> None:
        run(factory, write(tmp_path / "a.mrc", [bib(1)]), publish=True)
        with factory() as s:
            assert s.scalars(select(Record.status)).one() is RecordStatus.PUBLISHED


def mixed(path: Path) -> Path:
    """Four records: the first keeps a warning (a bad ISBN), the third is not MARC (rejected)."""
    good = io.BytesIO()
    write_records([bib(1, isbns=["7-02-000220-1"]), bib(2), bib(3)], good, format="marc21")
    raw = good.getvalue()
    second_end = raw.index(b"\x1d", raw.index(b"\x1d") + 1) + 1
    path.write_bytes(
        raw[:second_end] + b"00042garbage that is not a MARC record\x1d" + raw[second_end:]
    )
    return path


class TestReport:
    def test_lists_the_notes_by_record_number(
        self, factory: sessionmaker[Session], tmp_path: Path
    ) -> None:
        job = run(factory, mixed(tmp_path / "a.mrc"))
        with factory() as s:
            report = importer.report(s, job.id)
        assert report.job.id == job.id and report.job.rejected == 1
        assert [(n.number, n.rejected) for n in report.notes] == [(1, False), (3, True)]

    def test_can_put_the_rejections_first_and_count_every_note(
        self, factory: sessionmaker[Session], tmp_path: Path
    ) -> None:
        job = run(factory, mixed(tmp_path / "a.mrc"))
        with factory() as s:
            first = importer.report(s, job.id, limit=1, rejections_first=True)
            assert importer.note_count(s, job.id) == 2
        assert [(n.number, n.rejected) for n in first.notes] == [(3, True)]

    def test_an_unknown_job_is_not_found(self, factory: sessionmaker[Session]) -> None:
        with factory() as s, pytest.raises(ImportJobNotFound):
            importer.report(s, 999)
        with factory() as s:
            assert importer.note_count(s, 999) == 0


class TestExport:
    @pytest.mark.parametrize("format", ["marc21", "marcxml", "unimarc", "csv"])
    def test_export_then_import_elsewhere_gives_the_same_catalogue(
        self, factory: sessionmaker[Session], tmp_path: Path, format: str
    ) -> None:
        originals = [bib(1, isbns=["9787020002207"], subjects=["小说 -- 中国"], clc="I246.5")]
        run(factory, write(tmp_path / "a.mrc", originals), publish=True)
        out = io.BytesIO()
        with factory() as s:
            importer.export_file(s, out, format=format)
        back = [r for r in read_records(io.BytesIO(out.getvalue()), format=format)]
        assert len(back) == 1
        got = back[0].bib  # type: ignore[union-attr]
        assert got.title == originals[0].title
        assert got.isbns == ["9787020002207"]
        assert got.clc == "I246.5"
        assert [i.barcode for i in got.items] == ["B000001"]
