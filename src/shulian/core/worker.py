"""Background workers of a serving process: one skeleton for every domain's.

A worker is a thread that runs :meth:`Worker.step` every ``poll`` seconds until it is stopped.
A step that raises is logged and tried again after a growing pause (``backoff``: 1 s, 2 s, 5 s,
15 s, then every minute), so a database that went away is not hammered while it comes back; the
first success ends the pauses. A worker keeps its status (when it last succeeded, the kind of
its last error, how many steps in a row failed), and a consumer of the event spine says how many
events it is behind: ``GET /healthz`` reports both, so an operator sees a stuck consumer.

A domain adds a worker by subclassing :class:`Worker` (``name``, ``step``, and ``lag`` when it
follows the spine) and listing it with the application's other workers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from sqlalchemy.orm import Session

from shulian.core.clock import utcnow

log = logging.getLogger("shulian.workers")

BACKOFF: tuple[float, ...] = (1.0, 2.0, 5.0, 15.0, 60.0)
STOP_TIMEOUT = 10.0


@dataclass(frozen=True)
class WorkerStatus:
    """What ``/healthz`` says of one worker. ``lag``: events behind the spine (or, for the
    notice outbox, notices waiting past their time); None when it does not apply."""

    name: str
    running: bool
    last_success: datetime | None
    last_error: str | None  # the exception's class name: never its text, which may hold data
    last_error_at: datetime | None
    failures: int  # steps that failed in a row; 0 once one succeeds
    lag: int | None = None

    @property
    def healthy(self) -> bool:
        return self.running and self.failures == 0


class Worker:
    """A background loop: ``step`` every ``poll`` seconds, retried with backoff on failure."""

    name: ClassVar[str] = "worker"

    def __init__(self, *, poll: float, backoff: Sequence[float] = BACKOFF) -> None:
        if not backoff:
            raise ValueError("backoff needs at least one pause")
        self.poll = poll
        self.backoff = tuple(backoff)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._last_success: datetime | None = None
        self._last_error: str | None = None
        self._last_error_at: datetime | None = None
        self._failures = 0

    # -- what a domain writes -------------------------------------------------------------------

    def step(self) -> None:
        """One round of work. Raise to have it retried after a pause."""
        raise NotImplementedError

    def prepare(self) -> None:
        """Slow set-up before the first step, run once by ``start`` callers that can wait (the
        application runs it in a thread before it serves)."""

    def lag(self, session: Session) -> int | None:
        """How far behind the worker is (events behind the spine), or None."""
        return None

    def on_stop(self) -> None:
        """Last work once the loop has ended (write what is held in memory)."""

    # -- the skeleton ---------------------------------------------------------------------------

    def start(self) -> None:
        """Run the loop in a daemon thread (once)."""
        if self._thread is not None:
            raise RuntimeError(f"worker {self.name} already started")
        self._thread = threading.Thread(target=self._run, name=f"shulian-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Ask the loop to end, wait for the step in progress (up to ``timeout``), then
        ``on_stop``."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        try:
            self.on_stop()
        except Exception:
            log.exception("worker %s failed while stopping", self.name)

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``, woken early by ``stop``; True when stopping."""
        return self._stop.wait(seconds)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run_step(self) -> bool:
        """One step with its outcome recorded; True when it succeeded. (The loop's body, also
        for tests and for running a worker's round by hand.)"""
        try:
            self.step()
        except Exception as exc:
            with self._lock:
                self._failures += 1
                self._last_error = type(exc).__name__
                self._last_error_at = utcnow()
                failures = self._failures
            log.exception("worker %s: step failed (%d in a row)", self.name, failures)
            return False
        with self._lock:
            self._failures = 0
            self._last_success = utcnow()
        return True

    def pause_after(self, failures: int) -> float:
        """Seconds to wait after ``failures`` failed steps in a row (0: a success)."""
        if failures == 0:
            return self.poll
        return self.backoff[min(failures, len(self.backoff)) - 1]

    def _run(self) -> None:
        while not self._stop.is_set():
            self.run_step()
            with self._lock:
                failures = self._failures
            self.wait(self.pause_after(failures))

    def status(self, session: Session | None = None) -> WorkerStatus:
        """The worker's status; with a session, its lag too (a failing read leaves it None)."""
        lag = None
        if session is not None:
            try:
                lag = self.lag(session)
            except Exception:
                log.warning("worker %s: could not read its lag", self.name, exc_info=True)
        with self._lock:
            return WorkerStatus(
                name=self.name,
                running=self._thread is not None and self._thread.is_alive(),
                last_success=self._last_success,
                last_error=self._last_error,
                last_error_at=self._last_error_at,
                failures=self._failures,
                lag=lag,
            )
