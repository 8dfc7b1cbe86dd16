"""The migrations build exactly the schema the models describe, on this database."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, select, text

from shulian.accounts.models import ReaderCategory, RolePermission
from shulian.accounts.permissions import PERMISSIONS, READER_CATEGORIES
from shulian.core.db import make_engine, make_sessionmaker, session_scope
from shulian.migrations import current_revision, metadata, upgrade
from tests.conftest import NOW


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


def test_the_history_has_one_head() -> None:
    """Domains built side by side each add a revision; two heads mean two of them branch from
    the same parent and must be chained (or merged) before either lands."""
    from alembic.script import ScriptDirectory

    from shulian.migrations import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    heads = script.get_heads()
    assert len(heads) == 1, f"migration heads {heads}: chain one after the other"
    assert len(list(script.walk_revisions())) >= 6


class TestNoticeOutboxMigration:
    """Revision 790438ed6054 moves the notice outbox to notify without losing a row."""

    def test_channels_move_and_failures_get_their_kind(self, empty_db_url: str) -> None:
        engine = make_engine(empty_db_url)
        try:
            upgrade(engine, "0005")
            with engine.begin() as conn:
                branch = conn.execute(
                    text(
                        "INSERT INTO branches (code, name_zh, name_en, kind, address, phone,"
                        " active, created_at) VALUES ('CEN', '总馆', 'Central', 'central', '',"
                        " '', true, :now) RETURNING id"
                    ),
                    {"now": NOW},
                ).scalar_one()
                readers = [
                    conn.execute(
                        text(
                            "INSERT INTO readers (card_number, name, category_code, phone, email,"
                            " home_branch_id, status, expires_on, auth_version, points,"
                            " created_at) VALUES (:card, '读者', 'adult', '', '', :branch,"
                            " 'active', '2030-01-01', 1, 0, :now) RETURNING id"
                        ),
                        {"card": f"M{i}", "branch": branch, "now": NOW},
                    ).scalar_one()
                    for i in range(3)
                ]
                for rid, email, webhook in ((readers[0], False, True), (readers[1], True, False)):
                    conn.execute(
                        text(
                            "INSERT INTO reader_preferences (reader_id, keep_history,"
                            " notify_email, notify_webhook, updated_at)"
                            " VALUES (:r, true, :e, :w, :now)"
                        ),
                        {"r": rid, "e": email, "w": webhook, "now": NOW},
                    )
                for n, (status, error) in enumerate(
                    (
                        ("failed", "reader has no e-mail address"),
                        ("pending", "SMTP unreachable (ConnectionRefusedError)"),
                        ("failed", "webhook answered HTTP 400"),
                        ("sent", ""),
                    )
                ):
                    conn.execute(
                        text(
                            "INSERT INTO notices (key, reader_id, kind, channel, context, status,"
                            " attempts, next_attempt_at, last_error, created_at)"
                            " VALUES (:key, :r, 'hold_ready', 'email', '{}', :status, 1, :now,"
                            " :error, :now)"
                        ),
                        {
                            "key": f"k{n}",
                            "r": readers[2],
                            "status": status,
                            "error": error,
                            "now": NOW,
                        },
                    )
            upgrade(engine)
            with engine.connect() as conn:
                prefs = conn.execute(
                    text(
                        "SELECT reader_id, email, webhook, language FROM notice_preferences"
                        " ORDER BY reader_id"
                    )
                ).all()
                kept = conn.execute(
                    text("SELECT reader_id, keep_history FROM reader_preferences")
                ).all()
                kinds = dict(conn.execute(text("SELECT key, error_kind FROM notices")).all())
                outbox = set(
                    conn.execute(
                        text(
                            "SELECT role_code FROM role_permissions"
                            " WHERE permission = 'notify.outbox.read'"
                        )
                    ).scalars()
                )
        finally:
            engine.dispose()
        assert [tuple(r) for r in prefs] == [
            (readers[0], False, True, None),
            (readers[1], True, False, None),
        ]
        assert {r for r, keep in kept if keep} == {readers[0], readers[1]}
        assert kinds == {"k0": "no_address", "k1": "unreachable", "k2": "refused", "k3": ""}
        assert outbox == {"admin", "branch_manager"}
