"""Search's background worker in a serving process: keeps this node's index replica current
(every half second) and writes the search counts behind hot terms (every half minute)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from shulian.core import events
from shulian.core.worker import Worker
from shulian.search import analysis
from shulian.search.errors import SearchIndexLocked
from shulian.search.service import SearchService


class SearchWorker(Worker):
    name = "search"

    def __init__(
        self,
        service: SearchService,
        factory: sessionmaker[Session],
        *,
        read_factory: sessionmaker[Session] | None = None,
        clock: Callable[[], datetime],
        poll: float = 0.5,
        flush_every: float = 30.0,
    ) -> None:
        super().__init__(poll=poll)
        self.service, self.factory, self.clock = service, factory, clock
        self.read_factory = read_factory or factory
        self.flush_every = flush_every
        self._last_flush = time.monotonic()

    def prepare(self) -> None:
        # Before the first request: loading the analysers inside one stalls all the others.
        analysis.warm_up()

    def step(self) -> None:
        try:
            self.service.catch_up(self.read_factory)
        except SearchIndexLocked:
            # Another process on this machine keeps the shared index current.
            self.service.index.reload()
        if time.monotonic() - self._last_flush >= self.flush_every:
            self.service.flush_counts(self.factory, now=self.clock())
            self._last_flush = time.monotonic()

    def lag(self, session: Session) -> int:
        # The replica's read position is kept beside the index, not in the database.
        return events.events_after(session, self.service.offset())

    def on_stop(self) -> None:
        self.service.flush_counts(self.factory, now=self.clock())
