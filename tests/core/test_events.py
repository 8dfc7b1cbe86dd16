from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from shulian.core import events
from shulian.core.db import make_sessionmaker, session_scope
from shulian.core.events import ConsumerOffset, Event
from tests.conftest import NOW
from tests.core.consumer_proc import project


def _seed(factory: sessionmaker[Session], n: int) -> None:
    with session_scope(factory) as s:
        s.execute(text("CREATE TABLE test_projection (seq BIGINT NOT NULL, type VARCHAR(64))"))
        for i in range(n):
            events.record(s, type=f"test.e{i % 3}", now=NOW, subject=f"thing:{i}", payload={"i": i})


def _projection(factory: sessionmaker[Session]) -> list[int]:
    with session_scope(factory) as s:
        return [r[0] for r in s.execute(text("SELECT seq FROM test_projection ORDER BY seq"))]


class TestRecord:
    def test_event_commits_with_the_change(self, session: Session) -> None:
        ev = events.record(
            session,
            type="test.happened",
            now=NOW,
            actor="staff:1",
            branch="CEN",
            subject="reader:7",
            payload={"a": 1, "中文": "可以"},
        )
        session.expire_all()
        got = session.get(Event, ev.seq)
        assert got is not None
        assert (got.type, got.actor, got.branch, got.subject) == (
            "test.happened",
            "staff:1",
            "CEN",
            "reader:7",
        )
        assert got.payload == {"a": 1, "中文": "可以"}
        assert got.occurred_at == NOW

    def test_rolled_back_change_leaves_no_event(self, session: Session) -> None:
        before = session.scalar(select(Event.seq).order_by(Event.seq.desc()).limit(1)) or 0
        nested = session.begin_nested()
        events.record(session, type="test.doomed", now=NOW)
        nested.rollback()
        assert not session.scalars(select(Event).where(Event.seq > before)).all()

    def test_sequence_numbers_increase(self, session: Session) -> None:
        seqs = [events.record(session, type="test.n", now=NOW).seq for _ in range(5)]
        assert seqs == sorted(seqs) and len(set(seqs)) == 5


class TestConsume:
    def test_two_processes_starting_a_new_consumer_at_once_share_its_offset(
        self, scratch_engines: Callable[..., Engine]
    ) -> None:
        # The first has created the offset row and not committed; the second finds no row,
        # tries to create it too, and must end up waiting for and locking the first's row.
        first = make_sessionmaker(scratch_engines())()
        second = make_sessionmaker(scratch_engines())
        locked = events._lock_offset(first, "new-consumer", NOW)
        locked.last_seq = 7
        got: list[int] = []

        def start_second() -> None:
            with session_scope(second) as s:
                got.append(events._lock_offset(s, "new-consumer", NOW).last_seq)

        thread = threading.Thread(target=start_second)
        thread.start()
        time.sleep(0.5)
        assert got == []  # waiting for the first
        first.commit()
        first.close()
        thread.join(timeout=30)
        assert got == [7]

    def test_each_consumer_reads_from_its_own_offset(
        self, scratch_engines: Callable[..., Engine]
    ) -> None:
        factory = make_sessionmaker(scratch_engines())
        _seed(factory, 10)
        seen_a: list[int] = []
        seen_b: list[int] = []
        assert (
            events.consume(factory, "a", lambda s, e: seen_a.append(e.seq), now=NOW, batch_size=3)
            == 10
        )
        assert (
            events.consume(
                factory,
                "b",
                lambda s, e: seen_b.append(e.seq),
                now=NOW,
                batch_size=4,
                max_batches=1,
            )
            == 4
        )
        assert seen_a == list(range(1, 11))
        assert seen_b == [1, 2, 3, 4]
        # Nothing new: consumer a applies nothing; b carries on where it stopped.
        assert events.consume(factory, "a", lambda s, e: seen_a.append(e.seq), now=NOW) == 0
        assert events.consume(factory, "b", lambda s, e: seen_b.append(e.seq), now=NOW) == 6
        assert seen_b == list(range(1, 11))

    def test_failed_batch_is_retried_whole(self, scratch_engines: Callable[..., Engine]) -> None:
        factory = make_sessionmaker(scratch_engines())
        _seed(factory, 6)

        def flaky(session: Session, ev: Event) -> None:
            project(session, ev)
            if ev.seq == 5:
                raise RuntimeError("handler crashed on event 5")

        with pytest.raises(RuntimeError):
            events.consume(factory, "projection", flaky, now=NOW, batch_size=4)
        # The first batch (1-4) committed; the failed one (5-6) left no trace.
        assert _projection(factory) == [1, 2, 3, 4]
        events.consume(factory, "projection", project, now=NOW, batch_size=4)
        assert _projection(factory) == [1, 2, 3, 4, 5, 6]

    def test_killed_consumer_resumes_with_nothing_lost_or_doubled(
        self, scratch_db_url: str, scratch_engines: Callable[..., Engine]
    ) -> None:
        factory = make_sessionmaker(scratch_engines())
        total = 300
        _seed(factory, total)
        root = Path(__file__).resolve().parents[2]
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.core.consumer_proc", scratch_db_url, "25"],
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root)},
        )
        reader = make_sessionmaker(scratch_engines(), readonly=True)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with session_scope(reader) as s:
                    offset = events.offset_of(s, "projection")
                if offset >= 50:
                    break
                assert proc.poll() is None, "consumer exited before it could be killed"
                time.sleep(0.02)
            time.sleep(0.07)  # land somewhere inside the next batch
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
        with session_scope(factory) as s:
            offset_at_kill = events.offset_of(s, "projection")
        done = _projection(factory)
        assert 50 <= offset_at_kill < total, "the kill must land part-way through"
        # What was applied is exactly what the offset says: the torn batch rolled back whole.
        assert done == list(range(1, offset_at_kill + 1))

        events.consume(factory, "projection", project, now=NOW, batch_size=25)
        done = _projection(factory)
        assert done == list(range(1, total + 1))
        with session_scope(factory) as s:
            row = s.get(ConsumerOffset, "projection")
            assert row is not None and row.last_seq == total
