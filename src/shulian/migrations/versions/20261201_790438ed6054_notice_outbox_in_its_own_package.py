"""The notice outbox in its own package (notify): readers' notice channels move from
``reader_preferences`` to ``notice_preferences`` (with a notice language), each notice records
the kind of its failure, and staff may be allowed to see the outbox.

Revision ID: 790438ed6054
Revises: 0005
Create Date: 2026-12-01 15:52:17.579514
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import shulian.core.db

revision: str = "790438ed6054"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

FAILURE_KINDS = (
    "",
    "no_address",
    "channel_off",
    "refused",
    "temporary",
    "unreachable",
    "no_result",
    "unwritable",
    "unexpected",
)
OUTBOX = "notify.outbox.read"
OUTBOX_ROLES = ("admin", "branch_manager")

# The kind of an earlier failure, from the reason it was recorded with (see notify.transports
# and notify.delivery: the reasons name the failure only). First match wins.
REASON_KINDS = (
    ("reader has no e-mail address", "no_address"),
    ("channel is not configured", "channel_off"),
    ("no result from the last attempt", "no_result"),
    ("cannot write a", "unwritable"),
    ("unreachable", "unreachable"),
    ("SMTPServerDisconnected", "unreachable"),
    ("unexpected", "unexpected"),
    ("refused", "refused"),
    ("webhook answered HTTP", "refused"),
    ("SMTP", "temporary"),
)


def upgrade() -> None:
    preferences = op.create_table(
        "notice_preferences",
        sa.Column("reader_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.Boolean(), nullable=False),
        sa.Column("webhook", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("updated_at", shulian.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["reader_id"], ["readers.id"], name=op.f("fk_notice_preferences_reader_id_readers")
        ),
        sa.PrimaryKeyConstraint("reader_id", name=op.f("pk_notice_preferences")),
    )
    # Every reader who chose channels keeps them (the language stays the library's).
    op.execute(
        sa.insert(preferences).from_select(
            ["reader_id", "email", "webhook", "language", "updated_at"],
            sa.select(
                sa.column("reader_id"),
                sa.column("notify_email"),
                sa.column("notify_webhook"),
                sa.null(),
                sa.column("updated_at"),
            ).select_from(sa.table("reader_preferences")),
        )
    )
    with op.batch_alter_table("reader_preferences", schema=None) as batch_op:
        batch_op.drop_column("notify_webhook")
        batch_op.drop_column("notify_email")

    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "error_kind",
                sa.Enum(*FAILURE_KINDS, name="failurekind", native_enum=False, length=20),
                server_default="",
                nullable=False,
            )
        )
    notices = sa.table(
        "notices", sa.column("status"), sa.column("last_error"), sa.column("error_kind")
    )
    kind = sa.case(
        *((notices.c.last_error.contains(text), value) for text, value in REASON_KINDS),
        else_="unexpected",
    )
    op.execute(
        notices.update()
        .where(notices.c.status.in_(("pending", "failed")), notices.c.last_error != "")
        .values(error_kind=kind)
    )

    role_permissions = sa.table("role_permissions", sa.column("role_code"), sa.column("permission"))
    roles = sa.table("roles", sa.column("code"))
    bind = op.get_bind()
    present = set(bind.execute(sa.select(roles.c.code).where(roles.c.code.in_(OUTBOX_ROLES))))
    granted = set(
        bind.execute(
            sa.select(role_permissions.c.role_code).where(role_permissions.c.permission == OUTBOX)
        )
    )
    op.bulk_insert(
        role_permissions,
        [{"role_code": code, "permission": OUTBOX} for (code,) in sorted(present - granted)],
    )


def downgrade() -> None:
    role_permissions = sa.table("role_permissions", sa.column("permission"))
    op.execute(role_permissions.delete().where(role_permissions.c.permission == OUTBOX))
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_column("error_kind")
    with op.batch_alter_table("reader_preferences", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("notify_email", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("notify_webhook", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    preferences = sa.table(
        "notice_preferences", sa.column("reader_id"), sa.column("email"), sa.column("webhook")
    )
    reader_preferences = sa.table(
        "reader_preferences",
        sa.column("reader_id"),
        sa.column("notify_email"),
        sa.column("notify_webhook"),
    )
    for reader_id, email, webhook in op.get_bind().execute(
        sa.select(preferences.c.reader_id, preferences.c.email, preferences.c.webhook)
    ):
        op.execute(
            reader_preferences.update()
            .where(reader_preferences.c.reader_id == reader_id)
            .values(notify_email=email, notify_webhook=webhook)
        )
    op.drop_table("notice_preferences")
