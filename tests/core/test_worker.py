"""The workers' skeleton: a step every poll, retried with backoff after a failure, a status an
operator can read in ``/healthz`` (with each spine consumer's lag)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import text

from shulian.api import create_app
from shulian.core import events
from shulian.core.config import Settings
from shulian.core.db import make_engine, make_sessionmaker, session_scope
from shulian.core.worker import Worker
from tests.conftest import NOW
from tests.factories.consortium import make_network


class Flaky(Worker):
    """Fails its first ``failures`` steps, then succeeds; counts its steps."""

    name = "flaky"

    def __init__(self, failures: int, **kwargs: float) -> None:
        super().__init__(poll=kwargs.get("poll", 0.01), backoff=(0.01, 0.02, 0.05))
        self.left, self.steps, self.stopped = failures, 0, False
        self.done = threading.Event()

    def step(self) -> None:
        self.steps += 1
        if self.left:
            self.left -= 1
            raise ConnectionResetError("the database went away")
        self.done.set()

    def on_stop(self) -> None:
        self.stopped = True


class TestSkeleton:
    def test_a_failed_step_is_recorded_by_kind_and_a_success_clears_it(self) -> None:
        worker = Flaky(2)
        assert worker.run_step() is False
        status = worker.status()
        assert (status.failures, status.last_error) == (1, "ConnectionResetError")
        assert status.last_error_at is not None and status.last_success is None
        assert not status.healthy
        assert worker.run_step() is False and worker.status().failures == 2
        assert worker.run_step() is True
        status = worker.status()
        assert status.failures == 0 and status.last_success is not None
        assert status.last_error == "ConnectionResetError"  # kept, for the operator

    def test_pauses_grow_after_failures_and_stop_growing(self) -> None:
        worker = Worker(poll=0.5, backoff=(1.0, 2.0, 5.0))
        assert [worker.pause_after(n) for n in range(5)] == [0.5, 1.0, 2.0, 5.0, 5.0]

    def test_runs_until_stopped_then_finishes_its_work(self) -> None:
        worker = Flaky(3)
        worker.start()
        try:
            assert worker.done.wait(5)
            assert worker.status().running
        finally:
            worker.stop()
        assert worker.steps >= 4 and worker.stopped
        assert not worker.status().running

    def test_stop_wakes_a_long_pause(self) -> None:
        worker = Flaky(0, poll=3600)
        worker.start()
        assert worker.done.wait(5)
        started = time.monotonic()
        worker.stop()
        assert time.monotonic() - started < 2


def test_healthz_reports_each_worker_and_a_stuck_consumer(
    scratch_db_url: str, tmp_path: Path
) -> None:
    engine = make_engine(scratch_db_url)
    with session_scope(make_sessionmaker(engine)) as s:
        make_network(s)  # some events for the ledger to take in
    settings = Settings(
        data_dir=tmp_path,
        database_url=scratch_db_url,
        secret_key="healthz-test-secret",  # type: ignore[arg-type]
        ledger_worker=True,
        search_worker=False,
        circulation_worker=True,
        notify_worker=True,
        checkpoint_interval=0.2,
    )
    app = create_app(settings, engine=engine, clock=lambda: NOW)
    with TestClient(app) as client:
        deadline = time.monotonic() + 20
        while True:
            body = client.get("/healthz").json()
            ledger = body["workers"]["ledger"]
            if ledger["lag"] == 0 and ledger["last_success"]:
                break
            assert time.monotonic() < deadline, body
            time.sleep(0.1)
        assert body["status"] == "ok"
        assert set(body["workers"]) == {"ledger", "circulation", "notify", "sessions"}
        assert body["workers"]["circulation"]["lag"] is None
        assert body["workers"]["sessions"]["running"] is True
        assert body["workers"]["notify"]["lag"] == 0

        # The ledger's tables are gone: the consumer is stuck, and says so.
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE ledger_nodes"))
        with session_scope(make_sessionmaker(engine)) as s:
            events.record(s, type="test.poke", now=NOW)
        deadline = time.monotonic() + 20
        while True:
            body = client.get("/healthz").json()
            ledger = body["workers"]["ledger"]
            if ledger["failures"]:
                break
            assert time.monotonic() < deadline, body
            time.sleep(0.1)
    assert body["status"] == "degraded"
    assert ledger["running"] is True
    assert ledger["last_error"] in {"OperationalError", "ProgrammingError"}  # no such table
    assert ledger["lag"] >= 1
    engine.dispose()
