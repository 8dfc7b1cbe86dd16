"""Circulation's background work: the periodic jobs (expire holds left on the shelf, accrue
fines, queue due-date notices, anonymise old loans) and the delivery of notices.

In a serving process ``CirculationWorker`` delivers what is due every few seconds and runs the
jobs at start and then every hour; ``shulian circulation daily`` / ``notices`` do each once.
Several workers over one PostgreSQL database are safe: each job runs in its own transaction
under a transaction-scoped advisory lock, so a job that another worker is running is skipped
(and the jobs are idempotent, so running one again later finds nothing to do); notices are
claimed with ``FOR UPDATE SKIP LOCKED`` (see ``delivery``). SQLite has a single writer.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from shulian.circulation import service as circulation_service
from shulian.circulation.delivery import (
    DeliveryPolicy,
    DeliveryReport,
    deliver_notices,
    due_count,
)
from shulian.circulation.transports import Transport
from shulian.core.db import session_scope
from shulian.core.i18n import Language

log = logging.getLogger("shulian.circulation")

Job = Callable[..., int]
# In this order: an expired hold passes its copy on (and queues that reader's notice) before
# fines and due-date notices are brought up to date.
JOBS: tuple[tuple[str, Job], ...] = (
    ("expire_holds", circulation_service.expire_holds),
    ("accrue_fines", circulation_service.accrue_fines),
    ("queue_due_notices", circulation_service.queue_due_notices),
    ("anonymise_history", circulation_service.anonymise_history),
)


@dataclass(frozen=True)
class JobRun:
    name: str
    count: int | None  # None: skipped, another worker was running it
    error: str | None = None


def _job_lock(session: Session, name: str) -> bool:
    """Take this job's advisory lock for the transaction; False if another worker holds it."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    key = zlib.crc32(f"shulian.circulation.{name}".encode())
    return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key}))


def run_jobs(factory: sessionmaker[Session], *, now: datetime) -> list[JobRun]:
    """Run each periodic job once, each in its own transaction. A job that fails is rolled back
    and logged; the others still run."""
    runs = []
    for name, job in JOBS:
        try:
            with session_scope(factory) as session:
                count = job(session, now=now) if _job_lock(session, name) else None
        except Exception as exc:  # the next run tries again; the other jobs go on
            log.exception("circulation job %s failed", name)
            runs.append(JobRun(name, None, type(exc).__name__))
            continue
        runs.append(JobRun(name, count))
        if count:
            log.info("circulation job %s: %s", name, count)
    return runs


class CirculationWorker:
    """In a serving process: delivers notices every ``poll`` seconds, and runs the periodic jobs
    at start and every ``jobs_every`` seconds."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        transports: Mapping[str, Transport],
        clock: Callable[[], datetime],
        language: Language = "zh-CN",
        poll: float = 5.0,
        jobs_every: float = 3600.0,
        policy: DeliveryPolicy | None = None,
        read_factory: sessionmaker[Session] | None = None,
    ) -> None:
        self.factory, self.transports, self.clock = factory, transports, clock
        self.read_factory = read_factory or factory
        self.language, self.poll, self.jobs_every = language, poll, jobs_every
        self.policy = policy or DeliveryPolicy()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shulian-circulation", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def deliver(self) -> DeliveryReport:
        """Deliver what is due; an idle round only reads (on SQLite a claim takes the write
        lock, which desks need)."""
        now = self.clock()
        with session_scope(self.read_factory) as session:
            if not due_count(session, now=now):
                return DeliveryReport()
        return deliver_notices(
            self.factory,
            now=now,
            transports=self.transports,
            language=self.language,
            policy=self.policy,
        )

    def _run(self) -> None:
        last_jobs: float | None = None
        while not self._stop.is_set():
            if last_jobs is None or time.monotonic() - last_jobs >= self.jobs_every:
                run_jobs(self.factory, now=self.clock())
                last_jobs = time.monotonic()
            try:
                self.deliver()
            except Exception:  # keep serving; what was not recorded is retried after its lease
                log.exception("notice delivery round failed")
            self._stop.wait(self.poll)
