"""The login sessions' background work: write when each session was last used, and delete
sessions past their expiry and failed logins past the throttle's window.

Requests do not write ``last_seen_at`` themselves: most are reads (on SQLite they take no write
lock), and a write on every request would cost more than the lookup it follows. The serving
process notes each session it sees in memory (:class:`SeenSessions`); the worker writes them
in one batch every ``poll`` seconds, so "last seen" is right to within that.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from shulian.accounts import service as accounts_service
from shulian.core.db import session_scope
from shulian.core.worker import Worker

#: At most this many sessions are remembered between two writes (the rest wait for the next).
SEEN_LIMIT = 100_000


class SeenSessions:
    """Which sessions were used since the last write, and when last (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[int, datetime] = {}

    def note(self, session_id: int, at: datetime) -> None:
        with self._lock:
            before = self._seen.get(session_id)
            if before is None and len(self._seen) >= SEEN_LIMIT:
                return
            if before is None or at > before:
                self._seen[session_id] = at

    def take(self) -> dict[int, datetime]:
        """Everything noted so far, forgotten here."""
        with self._lock:
            taken, self._seen = self._seen, {}
        return taken

    def give_back(self, seen: dict[int, datetime]) -> None:
        """Put back a batch that could not be written (the next step tries again)."""
        for session_id, at in seen.items():
            self.note(session_id, at)


class SessionWorker(Worker):
    """Every ``poll`` seconds: the sessions' last use; every ``purge_every`` seconds: delete
    expired sessions and old failed logins. Several processes may run it: both are idempotent."""

    name = "sessions"

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        seen: SeenSessions,
        clock: Callable[[], datetime],
        failure_window: timedelta,
        poll: float = 30.0,
        purge_every: float = 600.0,
    ) -> None:
        super().__init__(poll=poll)
        self.factory = factory
        self.seen = seen
        self.clock = clock
        self.failure_window = failure_window
        self.purge_every = timedelta(seconds=purge_every)
        self._purged_at: datetime | None = None

    def step(self) -> None:
        now = self.clock()
        batch = self.seen.take()
        purge = self._purged_at is None or now - self._purged_at >= self.purge_every
        try:
            with session_scope(self.factory) as session:
                if batch:
                    accounts_service.record_last_seen(session, batch)
                if purge:
                    accounts_service.purge_expired(
                        session, now=now, failure_window=self.failure_window
                    )
        except Exception:
            self.seen.give_back(batch)
            raise
        if purge:
            self._purged_at = now
