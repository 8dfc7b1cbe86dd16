"""Circulation's background work: the periodic jobs (expire holds left on the shelf, accrue
fines, queue due-date notices, anonymise old loans). The notices they queue leave through the
notice outbox's own worker (``shulian.notify.worker``).

In a serving process ``CirculationWorker`` runs the jobs at start and then every hour;
``shulian circulation daily`` runs them once. Several workers over one PostgreSQL database are
safe: each job runs in its own transaction under a transaction-scoped advisory lock, so a job
that another worker is running is skipped (and the jobs are idempotent, so running one again
later finds nothing to do). SQLite has a single writer.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from shulian.circulation import service as circulation_service
from shulian.core.db import session_scope
from shulian.core.worker import Worker

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


class JobsFailed(Exception):
    """Some periodic jobs failed this round (they are named); the others ran."""


class CirculationWorker(Worker):
    """In a serving process: runs the periodic jobs at start and every ``jobs_every`` seconds;
    a round where a job failed is tried again after the worker's backoff."""

    name = "circulation"

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        clock: Callable[[], datetime],
        jobs_every: float = 3600.0,
    ) -> None:
        # A failed round is tried again sooner than the hour, but not every few seconds: the
        # jobs scan every open loan.
        super().__init__(poll=jobs_every, backoff=(60.0, 300.0, 900.0))
        self.factory, self.clock = factory, clock

    def step(self) -> None:
        failed = [run.name for run in run_jobs(self.factory, now=self.clock()) if run.error]
        if failed:
            raise JobsFailed(", ".join(failed))
