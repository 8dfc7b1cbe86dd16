"""The ledger over the test's own transaction: take the pending events in as leaves (as the
worker's catch-up does, without its commits) and sign checkpoints with the app's key."""

from __future__ import annotations

from datetime import datetime

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from shulian.core.events import Event
from shulian.ledger import service
from shulian.ledger.leaf import Pseudonymizer
from shulian.ledger.models import LedgerCheckpoint, LedgerLeaf


def take_in(session: Session, app: FastAPI) -> int:
    """Append every event not yet in the ledger; returns how many."""
    done = set(session.scalars(select(LedgerLeaf.event_seq)))
    pending = [e for e in session.scalars(select(Event).order_by(Event.seq)) if e.seq not in done]
    return service.append_events(session, pending, Pseudonymizer(app.state.secret))


def sign(session: Session, app: FastAPI, *, now: datetime) -> LedgerCheckpoint:
    """Take the pending events in, then sign a checkpoint of the tree with the library's key."""
    take_in(session, app)
    return service.issue_checkpoint(session, signer=app.state.ledger_signer, now=now)
