"""Alembic migrations, shipped inside the package so ``shulian db upgrade`` works from a wheel.

``upgrade(engine)`` brings a database to the newest revision; it is what ``shulian serve`` runs
on start. New revisions: ``alembic -c src/shulian/migrations/alembic.ini revision --autogenerate``.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, MetaData

HERE = Path(__file__).parent


def metadata() -> MetaData:
    """Every domain's tables, on the one shared metadata: each package of ``shulian`` with a
    ``models`` module (a new domain is found without being listed here), and the event spine."""
    import importlib.util
    import pkgutil

    import shulian
    from shulian.core import events as _events  # noqa: F401
    from shulian.core.db import Base

    for package in pkgutil.iter_modules(shulian.__path__):
        if package.ispkg and importlib.util.find_spec(f"shulian.{package.name}.models"):
            importlib.import_module(f"shulian.{package.name}.models")
    return Base.metadata


def alembic_config(engine: Engine | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("path_separator", "os")
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
        cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every migration up to ``revision`` (the newest by default)."""
    with engine.begin() as conn:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
