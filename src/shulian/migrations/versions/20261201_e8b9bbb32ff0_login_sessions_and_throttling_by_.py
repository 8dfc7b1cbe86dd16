"""Login sessions kept server-side (page cookies and API tokens, revocable), and failed logins
recorded by account and client address together, so the throttle can tell them apart.

``login_failures`` is rebuilt rather than altered: it only holds the last few minutes of failed
attempts, keyed one way or the other, which the new throttle cannot read.

Revision ID: e8b9bbb32ff0
Revises: 790438ed6054
Create Date: 2026-12-01 16:55:01.177328
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import shulian.core.db

revision: str = "e8b9bbb32ff0"
down_revision: str | None = "790438ed6054"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "login_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("reader_id", sa.Integer(), nullable=True),
        sa.Column("created_at", shulian.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", shulian.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", shulian.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", shulian.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("client_address", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=200), nullable=False),
        sa.CheckConstraint(
            "(staff_id IS NULL) <> (reader_id IS NULL)",
            name=op.f("ck_login_sessions_one_account"),
        ),
        sa.ForeignKeyConstraint(
            ["reader_id"],
            ["readers.id"],
            name=op.f("fk_login_sessions_reader_id_readers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_accounts.id"],
            name=op.f("fk_login_sessions_staff_id_staff_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_login_sessions_token_hash")),
    )
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_sessions_expires_at"), ["expires_at"])
        batch_op.create_index(batch_op.f("ix_login_sessions_reader_id"), ["reader_id"])
        batch_op.create_index(batch_op.f("ix_login_sessions_staff_id"), ["staff_id"])

    op.drop_table("login_failures")  # its indexes go with it
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_key", sa.String(length=64), nullable=False),
        sa.Column("client_key", sa.String(length=64), nullable=False),
        sa.Column("failed_at", shulian.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_failures_account_key"), ["account_key"])
        batch_op.create_index(batch_op.f("ix_login_failures_client_key"), ["client_key"])
        batch_op.create_index(batch_op.f("ix_login_failures_failed_at"), ["failed_at"])


def downgrade() -> None:
    op.drop_table("login_failures")
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failed_at", shulian.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_failures_key"), ["key"])
        batch_op.create_index(batch_op.f("ix_login_failures_failed_at"), ["failed_at"])
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_sessions_staff_id"))
        batch_op.drop_index(batch_op.f("ix_login_sessions_reader_id"))
        batch_op.drop_index(batch_op.f("ix_login_sessions_expires_at"))
    op.drop_table("login_sessions")
