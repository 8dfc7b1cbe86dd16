"""A desk process for the crash test: checks an item out, says so, and waits to be killed
before its transaction commits."""

from __future__ import annotations

import sys
import time

from shulian.circulation import service as circ
from shulian.core.clock import utcnow
from shulian.core.db import make_engine, make_sessionmaker

if __name__ == "__main__":
    factory = make_sessionmaker(make_engine(sys.argv[1]))
    session = factory()
    circ.check_out(
        session,
        reader_id=int(sys.argv[2]),
        barcode=sys.argv[3],
        branch="CEN",
        actor="s",
        now=utcnow(),
    )
    session.flush()
    print("flushed", flush=True)
    time.sleep(60)  # killed here, between the writes and the commit
