"""The notice outbox's background worker in a serving process: delivers what is due every few
seconds. Several workers over one PostgreSQL database are safe: notices are claimed with
``FOR UPDATE SKIP LOCKED`` (see ``delivery``); SQLite has a single writer."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from shulian.core.db import session_scope
from shulian.core.i18n import Language
from shulian.core.worker import Worker
from shulian.notify import service
from shulian.notify.delivery import DeliveryPolicy, DeliveryReport, deliver_notices
from shulian.notify.kinds import NoticeKinds
from shulian.notify.transports import Transport


class NoticeWorker(Worker):
    """Delivers the notices due every ``poll`` seconds. Its lag is the number of notices
    waiting past their time."""

    name = "notify"

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        transports: Mapping[str, Transport],
        kinds: NoticeKinds,
        clock: Callable[[], datetime],
        language: Language = "zh-CN",
        poll: float = 5.0,
        policy: DeliveryPolicy | None = None,
        read_factory: sessionmaker[Session] | None = None,
    ) -> None:
        super().__init__(poll=poll)
        self.factory, self.transports, self.kinds, self.clock = factory, transports, kinds, clock
        self.read_factory = read_factory or factory
        self.language = language
        self.policy = policy or DeliveryPolicy()

    def step(self) -> None:
        self.deliver()

    def deliver(self) -> DeliveryReport:
        """Deliver what is due; an idle round only reads (on SQLite a claim takes the write
        lock, which desks need)."""
        now = self.clock()
        with session_scope(self.read_factory) as session:
            if not service.due_count(session, now=now):
                return DeliveryReport()
        return deliver_notices(
            self.factory,
            now=now,
            transports=self.transports,
            kinds=self.kinds,
            language=self.language,
            policy=self.policy,
        )

    def lag(self, session: Session) -> int:
        return service.due_count(session, now=self.clock())
