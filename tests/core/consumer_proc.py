"""A consumer process for the crash test: projects events into ``test_projection`` slowly,
printing its progress, until it is killed."""

from __future__ import annotations

import sys
import time

from sqlalchemy import text
from sqlalchemy.orm import Session

from shulian.core.clock import utcnow
from shulian.core.db import make_engine, make_sessionmaker
from shulian.core.events import Event, consume


def project(session: Session, ev: Event) -> None:
    session.execute(
        text("INSERT INTO test_projection (seq, type) VALUES (:s, :t)"), {"s": ev.seq, "t": ev.type}
    )
    time.sleep(0.01)  # slow enough to be killed in the middle of a batch


if __name__ == "__main__":
    factory = make_sessionmaker(make_engine(sys.argv[1]))
    consume(factory, "projection", project, now=utcnow(), batch_size=int(sys.argv[2]))
