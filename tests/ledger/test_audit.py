"""The audit replays the events against the tables: a library's real day of lending verifies
clean, and any loan, item, reader, record, hold or fine row changed, deleted or added directly in
SQL is named with its table and key, by the service and by ``shulian ledger verify``."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from shulian.accounts import service as accounts_service
from shulian.accounts.schemas import ReaderUpdate
from shulian.catalog import service as catalog_service
from shulian.catalog.schemas import RecordUpdate
from shulian.circulation import service as circ
from shulian.cli import app as cli
from shulian.cli.ledger import audit_sources
from shulian.core import events
from shulian.core.db import make_engine, make_sessionmaker, session_scope
from shulian.core.events import Event
from shulian.ledger import audit, leaf as leaf_codec, service
from shulian.ledger.models import LedgerAudit, LedgerLeaf
from shulian.ledger.note import Signer
from tests.conftest import NOW
from tests.factories.accounts import make_reader
from tests.factories.catalog import record_data
from tests.factories.circulation import Library, make_library
from tests.factories.consortium import make_network

SECRET = "audit-test-secret"


@pytest.fixture
def signer() -> Signer:
    return Signer.generate("audit.test/ledger")


def _ledger_up(session: Session, signer: Signer) -> None:
    """What the ledger worker does: append every new event, sign a checkpoint."""
    last = session.scalar(select(func.max(LedgerLeaf.event_seq))) or 0
    new = list(session.scalars(select(Event).where(Event.seq > last).order_by(Event.seq)))
    service.append_events(session, new, leaf_codec.Pseudonymizer(SECRET))
    service.issue_checkpoint(session, signer=signer, now=NOW)


def _audit(session: Session, signer: Signer) -> dict[str, str]:
    report = audit.verify(
        session, verifier=signer.verifier, secret=SECRET, sources=audit_sources(), chunk=16
    )
    assert report.problem_count == len(report.problems)
    return {p.where: p.problem for p in report.problems}


def _a_day(session: Session) -> Library:
    """Lending, returning away from home, a hold trapped and collected, an overdue fine accrued
    and paid, a reader's details and a record's description edited: every kind of row change."""
    lib = make_library(session, readers=3)
    r0, r1, r2 = (r.id for r in lib.readers)
    cen, b01 = lib.items
    early = NOW - timedelta(days=60)
    circ.check_out(session, barcode=cen.barcode, reader_id=r0, branch="CEN", actor="s", now=early)
    circ.check_out(session, barcode=b01.barcode, reader_id=r1, branch="B01", actor="s", now=NOW)
    circ.place_hold(
        session, reader_id=r2, record_id=lib.record.id, pickup_branch="CEN", actor="r", now=NOW
    )
    circ.accrue_fines(session, now=NOW)
    circ.check_in(session, barcode=cen.barcode, branch="CEN", actor="s", now=NOW)
    circ.pay(session, reader_id=r0, amount_cents=100, actor="s", note="", now=NOW)
    circ.check_out(session, barcode=cen.barcode, reader_id=r2, branch="CEN", actor="s", now=NOW)
    circ.check_in(session, barcode=b01.barcode, branch="CEN", actor="s", now=NOW)  # goes home
    accounts_service.update_reader(
        session, reader_id=r1, data=ReaderUpdate(phone="13900000000"), actor="s", now=NOW
    )
    fields = record_data(title="呐喊（修订版）").model_dump()
    catalog_service.update_record(
        session,
        record_id=lib.other.id,
        data=RecordUpdate(**fields, version=lib.other.version),
        actor="staff:cataloguer",
        now=NOW,
    )
    return lib


class TestReplay:
    def test_a_real_day_of_lending_verifies_clean(self, session: Session, signer: Signer) -> None:
        _a_day(session)
        _ledger_up(session, signer)
        report = audit.verify(
            session, verifier=signer.verifier, secret=SECRET, sources=audit_sources()
        )
        assert report.ok, report.problems
        tables = session.scalar(
            text(
                "SELECT (SELECT count(*) FROM records) + (SELECT count(*) FROM items)"
                " + (SELECT count(*) FROM readers) + (SELECT count(*) FROM loans)"
                " + (SELECT count(*) FROM holds) + (SELECT count(*) FROM fines)"
            )
        )
        assert report.rows_checked == tables and report.rows_checked > 10

    def test_events_the_ledger_has_not_taken_in_yet_count_too(
        self, session: Session, signer: Signer
    ) -> None:
        lib = _a_day(session)
        _ledger_up(session, signer)
        # Lent after the last checkpoint: the ledger lags, the row is still legitimate.
        circ.check_out(
            session, barcode=lib.other_items[0].barcode, reader_id=lib.readers[1].id,
            branch="CEN", actor="s", now=NOW,
        )  # fmt: skip
        assert _audit(session, signer) == {}

    def test_history_removal_is_not_mistaken_for_tampering(
        self, session: Session, signer: Signer
    ) -> None:
        _a_day(session)
        assert circ.anonymise_history(session, now=NOW + timedelta(days=400)) >= 1
        _ledger_up(session, signer)
        assert _audit(session, signer) == {}

    def test_rows_changed_deleted_or_added_in_sql_are_named(
        self, session: Session, signer: Signer
    ) -> None:
        lib = _a_day(session)
        _ledger_up(session, signer)
        loan_id = session.scalar(text("SELECT max(id) FROM loans"))
        hold_id = session.scalar(text("SELECT max(id) FROM holds"))
        fine_id = session.scalar(text("SELECT max(id) FROM fines"))
        reader = lib.readers[1].id
        record = lib.other.id
        item = lib.other_items[0].id
        session.execute(text("UPDATE loans SET renewals = renewals + 5 WHERE id = :i"),
                        {"i": loan_id})  # fmt: skip
        session.execute(text("UPDATE fines SET waived_cents = amount_cents WHERE id = :i"),
                        {"i": fine_id})  # fmt: skip
        session.execute(text("DELETE FROM holds WHERE id = :i"), {"i": hold_id})
        session.execute(text("UPDATE readers SET name = '李四' WHERE id = :i"), {"i": reader})
        session.execute(text("UPDATE record_contributors SET name = 'X' WHERE record_id = :i"),
                        {"i": record})  # fmt: skip
        session.execute(text("UPDATE items SET status = 'withdrawn' WHERE id = :i"), {"i": item})
        ghost = make_reader(session, card="GHOST1")  # registered: its event is in the spine
        session.execute(text("DELETE FROM events WHERE subject = :s"), {"s": f"reader:{ghost.id}"})
        session.expire_all()
        problems = _audit(session, signer)
        changed = "row changed behind the platform's back"
        assert problems.pop(f"loans id={loan_id}").startswith(changed)
        assert problems.pop(f"fines id={fine_id}").startswith(changed)
        assert problems.pop(f"readers id={reader}").startswith(changed)
        assert problems.pop(f"records id={record}").startswith(changed)
        assert problems.pop(f"items id={item}").startswith(changed)
        assert problems.pop(f"holds id={hold_id}").startswith(
            "row deleted behind the platform's back"
        )
        assert problems.pop(f"readers id={ghost.id}") == (
            "row added behind the platform's back: no event recorded it"
        )
        assert problems == {}

    def test_a_readers_state_enters_the_leaf_keyed(self, session: Session, signer: Signer) -> None:
        make_network(session)
        reader = make_reader(session, card="KEYED1", name="王五")
        _ledger_up(session, signer)
        event = session.scalars(
            select(Event).where(Event.subject == f"reader:{reader.id}").order_by(Event.seq)
        ).first()
        assert event is not None
        digest = event.payload["states"][f"reader:{reader.id}"]
        assert digest == accounts_service.reader_state(reader)
        data = session.scalars(
            select(LedgerLeaf.data).where(LedgerLeaf.event_seq == event.seq)
        ).one()
        leaf = json.loads(data)
        assert digest.encode() not in data and f"reader:{reader.id}".encode() not in data
        ((key, keyed),) = leaf["payload"]["states"].items()
        assert key.startswith("reader:~") and len(keyed) == 32 and keyed != digest


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, scratch_db_url: str, tmp_path: Path) -> str:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SHULIAN_DATABASE_URL", scratch_db_url)
    monkeypatch.setenv("SHULIAN_DATA_DIR", str(tmp_path / "var"))
    return scratch_db_url


class TestCommand:
    def test_verify_names_the_tampered_rows_and_keeps_the_outcome(self, env: str) -> None:
        runner = CliRunner()
        assert runner.invoke(cli, ["demo"]).exit_code == 0
        assert runner.invoke(cli, ["ledger", "checkpoint"]).exit_code == 0
        clean = runner.invoke(cli, ["ledger", "verify"])
        assert clean.exit_code == 0, clean.output
        assert "Ledger verified" in clean.output

        engine = make_engine(env)
        try:
            with session_scope(make_sessionmaker(engine)) as s:
                loan = s.scalar(text("SELECT min(id) FROM loans WHERE returned_at IS NULL"))
                s.execute(text("UPDATE loans SET renewals = 9 WHERE id = :i"), {"i": loan})
            tampered = runner.invoke(cli, ["ledger", "verify"], terminal_width=200)
            assert tampered.exit_code == 1
            assert f"loans id={loan}" in tampered.output
            assert "row changed behind the platform's back" in tampered.output
            with session_scope(make_sessionmaker(engine)) as s:
                audits = list(s.scalars(select(LedgerAudit).order_by(LedgerAudit.id)))
                assert [a.ok for a in audits] == [True, False]
                last = audit.last_audit(s)
                assert last is not None and last.problem_count == 1
                assert last.problems[0]["where"] == f"loans id={loan}"
                assert last.rows_checked > 3000 and last.started_by == "cli"
        finally:
            engine.dispose()


def _grow(session: Session, signer: Signer, steps: tuple[int, ...]) -> None:
    """Events in batches of ``steps``, a checkpoint after each: checkpoints fall inside spans,
    on their edges, and at sizes that are not powers of two."""
    n = 0
    for step in steps:
        for _ in range(step):
            n += 1
            events.record(
                session, type="test.lent", now=NOW, actor="staff:1", branch="CEN",
                subject=f"loan:{n}", payload={"reader": f"reader:{n % 5}", "n": n},
            )  # fmt: skip
        session.flush()
        _ledger_up(session, signer)


class TestSpans:
    STEPS = (1, 4, 3, 8, 5, 11, 9)  # sizes 1, 5, 8, 16, 21, 32, 41

    def _problems(self, session: Session, signer: Signer, span: int) -> list[tuple[str, str]]:
        report = audit.verify(session, verifier=signer.verifier, secret=SECRET, span=span)
        assert report.leaves == (41 if report.ok else 38)
        assert report.checkpoints == len(self.STEPS)
        return [(p.where, p.problem) for p in report.problems]

    def test_any_span_size_gives_the_same_verdict(self, session: Session, signer: Signer) -> None:
        _grow(session, signer, self.STEPS)
        for span in (1, 4, 8, 16, 1 << 18):
            assert self._problems(session, signer, span) == []
        session.execute(text("UPDATE events SET actor = 'staff:9' WHERE subject = 'loan:30'"))
        session.execute(
            text("UPDATE ledger_nodes SET hash = :h WHERE level = 4 AND idx = 1"),
            {"h": b"\x01" * 32},
        )
        session.execute(text("DELETE FROM ledger_leaves WHERE idx = 38"))
        seq = session.scalar(text("SELECT seq FROM events WHERE subject = 'loan:30'"))
        expected = self._problems(session, signer, 1 << 18)
        assert (f"events seq={seq}", "event changed after it entered the ledger") in expected
        assert ("ledger_nodes level=4 idx=1", "stored subtree hash is wrong") in expected
        assert ("ledger_leaves idx=38", "leaves jump from 38 to 39") in expected
        assert ("ledger_checkpoints tree_size=41", "checkpoint is beyond the 38 stored leaves") in (
            expected
        )
        for span in (1, 4, 8, 16):
            assert sorted(self._problems(session, signer, span)) == sorted(expected)


def test_workers_in_other_processes_reach_the_same_verdict(
    scratch_db_url: str, signer: Signer
) -> None:
    engine = make_engine(scratch_db_url)
    try:
        factory = make_sessionmaker(engine)
        with session_scope(factory) as s:
            _grow(s, signer, TestSpans.STEPS)
        with session_scope(factory) as s:
            s.execute(text("UPDATE events SET branch = 'B99' WHERE subject = 'loan:3'"))
        with session_scope(make_sessionmaker(engine, readonly=True)) as s:
            alone = audit.verify(s, verifier=signer.verifier, secret=SECRET, span=8)
        with session_scope(make_sessionmaker(engine, readonly=True)) as s:
            shared = audit.verify(
                s, verifier=signer.verifier, secret=SECRET, span=8, workers=2,
                database_url=scratch_db_url,
            )  # fmt: skip
        assert alone.problem_count == 1 and "event changed" in alone.problems[0].problem
        assert shared.model_dump() == alone.model_dump()
    finally:
        engine.dispose()
