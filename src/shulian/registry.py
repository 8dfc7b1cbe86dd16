"""What each domain plugs into the running application besides its routers and pages (listed by
``api.py`` and ``web/``) and its commands (``cli/``): its background workers and its kinds of
notice. A new domain adds a line here for each it has.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from shulian.accounts.worker import SessionWorker
from shulian.circulation import notices as circulation_notices
from shulian.circulation.worker import CirculationWorker
from shulian.core.config import Settings
from shulian.core.worker import Worker
from shulian.ledger.worker import LedgerWorker
from shulian.notify.kinds import NoticeKinds
from shulian.notify.transports import transports_from_settings
from shulian.notify.worker import NoticeWorker
from shulian.search.worker import SearchWorker


def notice_kinds() -> NoticeKinds:
    """Every kind of notice the domains send."""
    return NoticeKinds([*circulation_notices.KINDS])


@dataclass(frozen=True)
class Resources:
    """What the application has built that workers use."""

    settings: Settings
    factory: sessionmaker[Session]
    read_factory: sessionmaker[Session]
    clock: Callable[[], datetime]
    state: Any  # the application's state: secret, ledger signer, search service, notice kinds,
    # the sessions seen since the last write


def workers(res: Resources) -> list[Worker]:
    """The background workers a serving process runs, each switched by its setting."""
    s, state = res.settings, res.state
    candidates: list[tuple[bool, Callable[[], Worker]]] = [
        (
            s.ledger_worker,
            lambda: LedgerWorker(
                res.factory,
                secret=state.secret,
                signer=state.ledger_signer,
                clock=res.clock,
                checkpoint_interval=s.checkpoint_interval,
            ),
        ),
        (
            s.search_worker,
            lambda: SearchWorker(
                state.search, res.factory, read_factory=res.read_factory, clock=res.clock
            ),
        ),
        (s.circulation_worker, lambda: CirculationWorker(res.factory, clock=res.clock)),
        (
            s.delivers_notices,
            lambda: NoticeWorker(
                res.factory,
                transports=transports_from_settings(s),
                kinds=state.notice_kinds,
                clock=res.clock,
                language=s.default_language,
                read_factory=res.read_factory,
            ),
        ),
        (
            s.session_worker,
            lambda: SessionWorker(
                res.factory,
                seen=state.seen_sessions,
                clock=res.clock,
                failure_window=timedelta(seconds=s.login_window_seconds),
            ),
        ),
    ]
    return [build() for enabled, build in candidates if enabled]
