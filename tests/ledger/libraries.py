"""A whole library for the witnessing tests: its own database, data directory, keys and app,
and the operator's moves on its ledger, honest (grow, sign) and not (roll back, rewrite)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from shulian.api import create_app
from shulian.core import events
from shulian.core.config import Settings
from shulian.core.db import make_engine, make_sessionmaker, session_scope
from shulian.core.events import ConsumerOffset, Event
from shulian.ledger import service
from shulian.ledger.cosign import Cosigner
from shulian.ledger.models import LedgerCheckpoint, LedgerLeaf, LedgerNode
from shulian.ledger.note import Signer
from tests.conftest import NOW


@dataclass
class Library:
    name: str
    db_url: str
    data_dir: Path
    settings: Settings
    engine: Engine
    factory: sessionmaker[Session]
    app: FastAPI

    @property
    def origin(self) -> str:
        return self.settings.ledger_origin

    @property
    def signer(self) -> Signer:
        signer: Signer = self.app.state.ledger_signer
        return signer

    @property
    def cosigner(self) -> Cosigner:
        cosigner: Cosigner = self.app.state.ledger_cosigner
        return cosigner

    def env(self) -> dict[str, str]:
        """The environment of this library's command line and server."""
        return {
            "SHULIAN_DATABASE_URL": self.db_url,
            "SHULIAN_DATA_DIR": str(self.data_dir),
            "SHULIAN_SECRET_KEY": self.settings.secret(),
            "SHULIAN_LEDGER_ORIGIN": self.origin,
            "SHULIAN_LEDGER_WORKER": "false",
            "SHULIAN_SEARCH_WORKER": "false",
            "SHULIAN_CIRCULATION_WORKER": "false",
        }

    def grow(self, n: int) -> None:
        """``n`` more circulation events on the spine."""
        with session_scope(self.factory) as s:
            for i in range(n):
                events.record(
                    s, type="test.witness", now=NOW, subject=f"item:{i}", payload={"n": i}
                )

    def sign(self) -> LedgerCheckpoint:
        """Take in the new events and sign a checkpoint of the tree."""
        service.catch_up(self.factory, secret=self.settings.secret(), now=NOW)
        with session_scope(self.factory) as s:
            cp = service.issue_checkpoint(s, signer=self.signer, now=NOW)
            s.expunge(cp)
            return cp

    def size(self) -> int:
        with session_scope(self.factory) as s:
            return service.tree_size(s)

    def drop_latest_checkpoint(self) -> None:
        """Serve the previous checkpoint again (a rollback)."""
        with session_scope(self.factory) as s:
            latest = service.latest_checkpoint(s)
            assert latest is not None
            s.delete(latest)

    def rewrite_history(self) -> None:
        """The operator edits the first event and rebuilds the whole ledger from the spine, as
        if it had always been so: same size, different root, validly signed."""
        with session_scope(self.factory) as s:
            for model in (LedgerCheckpoint, LedgerNode, LedgerLeaf):
                s.execute(delete(model))
            s.execute(
                update(ConsumerOffset).where(ConsumerOffset.consumer == "ledger").values(last_seq=0)
            )
            first = s.scalars(select(Event).order_by(Event.seq).limit(1)).one()
            first.payload = {"n": "rewritten"}
        self.sign()


def make_library(db_url: str, data_dir: Path, name: str) -> Library:
    settings = Settings(
        data_dir=data_dir,
        database_url=db_url,
        secret_key=f"secret-{name}-{uuid.uuid4().hex}",  # type: ignore[arg-type]
        ledger_origin=f"{name}.example.org/ledger",
        ledger_worker=False,
        search_worker=False,
        circulation_worker=False,
    )
    engine = make_engine(db_url)
    app = create_app(settings, engine=engine, clock=lambda: NOW)
    return Library(
        name=name,
        db_url=db_url,
        data_dir=data_dir,
        settings=settings,
        engine=engine,
        factory=make_sessionmaker(engine),
        app=app,
    )
