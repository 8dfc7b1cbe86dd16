"""Correct under load and faults, on the suite's database (SQLite or PostgreSQL): fifty desks
lending one copy at the same moment, and a desk killed in the middle of a checkout."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, func, select

from shulian.catalog import service as catalog_service
from shulian.catalog.schemas import ItemStatus
from shulian.circulation import service as circ
from shulian.circulation.models import Loan
from shulian.core.db import make_sessionmaker, session_scope
from shulian.core.errors import ShulianError
from shulian.core.events import Event
from tests.conftest import NOW
from tests.factories.accounts import make_reader
from tests.factories.circulation import make_library

CLIENTS = 50


def test_fifty_desks_lend_one_copy_exactly_once(scratch_engines: Callable[..., Engine]) -> None:
    factory = make_sessionmaker(scratch_engines(pool_size=CLIENTS, max_overflow=0))
    with session_scope(factory) as s:
        lib = make_library(s, readers=1)
        readers = [make_reader(s).id for _ in range(CLIENTS)]
        barcode = lib.items[0].barcode
    barrier = threading.Barrier(CLIENTS)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def desk(reader_id: int) -> None:
        barrier.wait()
        try:
            with session_scope(factory) as s:
                circ.check_out(
                    s, reader_id=reader_id, barcode=barcode, branch="CEN", actor="s", now=NOW
                )
            result = "lent"
        except ShulianError as exc:
            result = exc.code
        except Exception as exc:  # anything else is a failure of the platform
            result = f"crash: {exc!r}"
        with lock:
            outcomes[result] += 1

    threads = [threading.Thread(target=desk, args=(r,)) for r in readers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert outcomes["lent"] == 1, outcomes
    assert sum(outcomes.values()) == CLIENTS
    assert set(outcomes) <= {"lent", "AlreadyOnLoan", "ItemUnavailable"}, outcomes
    with session_scope(factory) as s:
        assert s.scalar(select(func.count(Loan.id))) == 1
        checkouts = select(func.count(Event.seq)).where(
            Event.type == "circulation.loan.checked_out"
        )
        assert s.scalar(checkouts) == 1


def test_a_desk_killed_mid_checkout_leaves_no_half_loan(
    scratch_db_url: str, scratch_engines: Callable[..., Engine]
) -> None:
    factory = make_sessionmaker(scratch_engines())
    with session_scope(factory) as s:
        lib = make_library(s, readers=1)
        reader_id, barcode = lib.reader.id, lib.items[0].barcode
        events_before = s.scalar(select(func.count(Event.seq)))
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.circulation.checkout_proc",
            scratch_db_url,
            str(reader_id),
            barcode,
        ],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "flushed"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
    with session_scope(factory) as s:
        assert s.scalar(select(func.count(Loan.id))) == 0
        assert s.scalar(select(func.count(Event.seq))) == events_before
        assert catalog_service.get_item(s, barcode).status is ItemStatus.AVAILABLE
        # and the copy still lends
        loan = circ.check_out(
            s, reader_id=reader_id, barcode=barcode, branch="CEN", actor="s", now=NOW
        )
        assert loan.barcode == barcode
