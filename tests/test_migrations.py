"""The migrations build exactly the schema the models describe, on this database."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, select

from shulian.accounts.models import ReaderCategory, RolePermission
from shulian.accounts.permissions import PERMISSIONS, READER_CATEGORIES
from shulian.core.db import make_sessionmaker, session_scope
from shulian.migrations import current_revision, metadata


def test_models_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, metadata())
    assert diff == []


def test_database_is_at_head(engine: Engine) -> None:
    from alembic.script import ScriptDirectory

    from shulian.migrations import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert current_revision(engine) == head


def test_seeded_roles_and_categories(engine: Engine) -> None:
    with session_scope(make_sessionmaker(engine, readonly=True)) as s:
        perms = set(s.scalars(select(RolePermission.permission)))
        cats = set(s.scalars(select(ReaderCategory.code)))
    assert perms <= set(PERMISSIONS)
    assert cats == set(READER_CATEGORIES)
