"""The ledger's background worker in a serving process: appends new events every second and
signs a checkpoint every ``checkpoint_interval`` seconds while the tree grows. Several workers
over one PostgreSQL database are safe: the spine's consumer lock lets one append at a time, and a
checkpoint size is signed once."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from shulian.core.db import session_scope
from shulian.ledger import service
from shulian.ledger.note import Signer

log = logging.getLogger("shulian.ledger")
BATCH = 2000


class LedgerWorker:
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
        self.factory, self.secret, self.signer, self.clock = factory, secret, signer, clock
        self.checkpoint_interval, self.poll = checkpoint_interval, poll
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shulian-ledger", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def step(self, *, sign: bool) -> None:
        # What is there now, a batch at a time, then rest: chasing every event as it arrives
        # would make a write transaction beside each checkout and halve the desks' throughput.
        while (
            service.catch_up(
                self.factory, secret=self.secret, now=self.clock(), batch_size=BATCH, max_batches=1
            )
            == BATCH
        ):
            pass
        if sign:
            with session_scope(self.factory) as session:
                service.issue_checkpoint(session, signer=self.signer, now=self.clock())

    def _run(self) -> None:
        last_sign = 0.0
        while not self._stop.is_set():
            sign = time.monotonic() - last_sign >= self.checkpoint_interval
            try:
                self.step(sign=sign)
                if sign:
                    last_sign = time.monotonic()
            except Exception:  # keep serving; the next round retries from the stored offset
                log.exception("ledger worker round failed")
            self._stop.wait(self.poll)
