"""The ledger's background worker in a serving process: appends new events every second and
signs a checkpoint every ``checkpoint_interval`` seconds while the tree grows. Several workers
over one PostgreSQL database are safe: the spine's consumer lock lets one append at a time, and a
checkpoint size is signed once."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from shulian.core import events
from shulian.core.db import session_scope
from shulian.core.worker import Worker
from shulian.ledger import service
from shulian.ledger.note import Signer

BATCH = 2000


class LedgerWorker(Worker):
    name = "ledger"

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        secret: str,
        signer: Signer,
        clock: Callable[[], datetime],
        checkpoint_interval: float,
        poll: float = 1.0,
    ) -> None:
        super().__init__(poll=poll)
        self.factory, self.secret, self.signer, self.clock = factory, secret, signer, clock
        self.checkpoint_interval = checkpoint_interval
        self._last_sign: float | None = None
        self.horizon = events.Horizon()

    def step(self) -> None:
        sign = (
            self._last_sign is None
            or time.monotonic() - self._last_sign >= self.checkpoint_interval
        )
        self.append(sign=sign)
        if sign:
            self._last_sign = time.monotonic()

    def append(self, *, sign: bool) -> None:
        """Append what is there now, a batch at a time; then sign a checkpoint if ``sign``."""
        # Then rest: chasing every event as it arrives would make a write transaction beside
        # each checkout and halve the desks' throughput.
        while (
            service.catch_up(
                self.factory,
                secret=self.secret,
                now=self.clock(),
                batch_size=BATCH,
                max_batches=1,
                horizon=self.horizon,
            )
            == BATCH
        ):
            pass
        if sign:
            with session_scope(self.factory) as session:
                service.issue_checkpoint(session, signer=self.signer, now=self.clock())

    def lag(self, session: Session) -> int:
        return events.events_after(session, events.offset_of(session, service.CONSUMER))
