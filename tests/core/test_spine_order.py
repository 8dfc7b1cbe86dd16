"""The event spine without a global lock (PostgreSQL): writers take seqs as they go and commit in
any order; the consumers (the ledger, search) never pass a seq that may still be committed, and
apply every event exactly once, whatever the order of the commits. A gap left by a rollback is
passed over once nothing can fill it. SQLite has one writer at a time, so commits follow seqs."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from shulian.core import events
from shulian.core.db import make_engine, make_sessionmaker, session_scope
from shulian.core.events import Event, Horizon
from shulian.ledger import service as ledger_service
from shulian.ledger.models import LedgerLeaf
from shulian.search.documents import SearchQuery
from shulian.search.service import SearchService
from tests.conftest import NOW, PG_URL
from tests.factories.catalog import make_record

pytestmark = pytest.mark.skipif(
    not PG_URL, reason="commits out of seq order need concurrent writers: PostgreSQL's leg"
)
SECRET = "spine-order-test-secret"


@dataclass
class Writer:
    """One open transaction of its own, writing events."""

    session: Session
    title: str
    seqs: list[int] = field(default_factory=list)
    open: bool = True

    def record(self) -> None:
        self.seqs.append(
            events.record(self.session, type="test.written", now=NOW, payload={"t": self.title}).seq
        )

    def publish(self) -> None:
        before = events.newest_seq(self.session)
        make_record(self.session, publish=True, title=self.title)
        self.seqs.extend(
            self.session.scalars(
                select(Event.seq).where(Event.seq > before).order_by(Event.seq)
            ).all()
        )

    def end(self, *, commit: bool = True) -> None:
        (self.session.commit if commit else self.session.rollback)()
        self.session.close()
        self.open = False


@dataclass
class Consumers:
    factory: sessionmaker[Session]
    read: sessionmaker[Session]
    search: SearchService
    ledger_horizon: Horizon = field(default_factory=Horizon)

    def run(self) -> None:
        ledger_service.catch_up(self.factory, secret=SECRET, now=NOW, horizon=self.ledger_horizon)
        self.search.catch_up(self.read)

    def leaves(self) -> list[int]:
        with session_scope(self.read) as s:
            return list(s.scalars(select(LedgerLeaf.event_seq).order_by(LedgerLeaf.idx)))

    def found(self, title: str) -> int:
        self.search.index.reload()
        return self.search.search(SearchQuery(text=title)).total


@pytest.fixture
def spine(
    scratch_engines: Callable[..., Engine], tmp_path: Path
) -> Iterator[tuple[Callable[[str], Writer], Consumers]]:
    engine = scratch_engines()
    factory = make_sessionmaker(engine)
    consumers = Consumers(
        factory, make_sessionmaker(engine, readonly=True), SearchService(tmp_path / "search")
    )
    made: list[Writer] = []

    def writer(title: str) -> Writer:
        w = Writer(factory(), title)
        made.append(w)
        return w

    yield writer, consumers
    for w in made:
        if w.open:
            w.end(commit=False)
    consumers.search.index.close()


def _committed(consumers: Consumers) -> list[int]:
    with session_scope(consumers.read) as s:
        return list(s.scalars(select(Event.seq).order_by(Event.seq)))


def _check(consumers: Consumers, writers: list[Writer]) -> None:
    """The ledger holds each committed event at most once, in seq order, with no committed
    event skipped below its last leaf, and never passes an open writer's seq."""
    leaves = consumers.leaves()
    assert leaves == sorted(set(leaves)), "an event applied twice or out of order"
    committed = _committed(consumers)
    top = leaves[-1] if leaves else 0
    assert [s for s in committed if s <= top] == leaves, "a committed event was skipped"
    pending = [s for w in writers if w.open for s in w.seqs]
    assert not pending or top < min(pending), "the ledger passed a seq still being written"


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_three_writers_commit_in_any_order(
    spine: tuple[Callable[[str], Writer], Consumers], order: tuple[int, ...]
) -> None:
    writer, consumers = spine
    writers = [writer(t) for t in ("山海经注", "江河图志", "星月诗选")]
    # Seqs interleave across the three transactions: w0, w1, w2, then w0, w1, w2 again.
    for w in writers:
        w.publish()
    for w in writers:
        w.record()
    assert writers[0].seqs[0] < writers[1].seqs[0] < writers[2].seqs[0] < writers[0].seqs[-1]
    consumers.run()
    _check(consumers, writers)
    assert consumers.leaves() == []  # all three are open: nothing is safe yet
    for i in order:
        writers[i].end()
        for _round in range(2):  # a horizon sampled in one round is found safe the next
            consumers.run()
            _check(consumers, writers)
    every = sorted(s for w in writers for s in w.seqs)
    assert consumers.leaves() == every
    assert [consumers.found(w.title) for w in writers] == [1, 1, 1]


@pytest.mark.parametrize("first", ["commit", "rollback"])
def test_an_open_writer_holds_the_consumers_until_it_ends(
    spine: tuple[Callable[[str], Writer], Consumers], first: str
) -> None:
    writer, consumers = spine
    slow, quick = writer("慢车日记"), writer("快马文集")
    slow.publish()
    quick.publish()
    quick.end()
    for _round in range(3):
        consumers.run()
        _check(consumers, [slow, quick])
    assert consumers.leaves() == []  # quick's events wait behind slow's lower seqs
    assert consumers.found("快马文集") == 0
    slow.end(commit=first == "commit")
    for _round in range(2):
        consumers.run()
        _check(consumers, [slow, quick])
    expected = sorted(quick.seqs + (slow.seqs if first == "commit" else []))
    assert consumers.leaves() == expected  # a rolled-back writer leaves a gap, passed over
    assert consumers.found("快马文集") == 1
    assert consumers.found("慢车日记") == (1 if first == "commit" else 0)


def test_a_one_off_consumer_waits_for_running_writers_then_takes_everything(
    spine: tuple[Callable[[str], Writer], Consumers],
) -> None:
    writer, consumers = spine
    early, late = writer("早"), writer("晚")
    early.record()
    late.record()
    late.end()
    # The command line's catch-up (no horizon kept between rounds) waits for ``early``: ended
    # by another thread while it waits, it takes both events.
    timer = threading.Timer(0.3, early.end)
    timer.start()
    added = ledger_service.catch_up(consumers.factory, secret=SECRET, now=NOW)
    timer.join()
    assert added == 2 and consumers.leaves() == sorted(early.seqs + late.seqs)


def test_a_transaction_left_open_holds_consumers_only_until_the_server_ends_it(
    spine: tuple[Callable[[str], Writer], Consumers], scratch_db_url: str
) -> None:
    """A client that dies mid-transaction (here: one that stops talking) is cut off by the
    idle-in-transaction timeout; its seqs become a gap and the consumers go on."""
    writer, consumers = spine
    stuck_engine = make_engine(scratch_db_url, idle_in_transaction_timeout=1.0)
    stuck = Writer(make_sessionmaker(stuck_engine)(), "stuck")
    stuck.record()
    done = writer("on time")
    done.record()
    done.end()
    consumers.run()
    consumers.run()
    assert consumers.leaves() == []  # held back by the silent transaction
    deadline = time.monotonic() + 15
    while consumers.leaves() != done.seqs:
        assert time.monotonic() < deadline, "the consumers stayed stuck"
        time.sleep(0.2)
        consumers.run()
    with pytest.raises(DBAPIError, match="idle-in-transaction timeout"):
        stuck.session.execute(select(1))
    stuck.session.close()
    stuck_engine.dispose()
