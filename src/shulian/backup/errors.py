"""Why a backup or a restore is refused, as errors."""

from __future__ import annotations

from shulian.core.errors import BadRequest, Conflict


class ArchiveCorrupt(BadRequest):
    """A member is missing, cut short or not what the manifest says: nothing is restored."""

    def __init__(self, member: str, reason: str) -> None:
        super().__init__(
            "The backup archive is damaged at {member}: {reason}", member=member, reason=reason
        )


class NotABackup(BadRequest):
    def __init__(self, reason: str) -> None:
        super().__init__("Not a Shulian backup archive: {reason}", reason=reason)


class ArchiveFromNewerVersion(Conflict):
    def __init__(self, revision: str, head: str) -> None:
        super().__init__(
            "The backup is at schema revision {revision}, which this Shulian does not know (its "
            "newest is {head}): restore it with the Shulian version that made it, or a newer one",
            revision=revision,
            head=head,
        )


class DatabaseNotEmpty(Conflict):
    def __init__(self, tables: str) -> None:
        super().__init__(
            "The database already holds data ({tables}): restore into an empty database, or "
            "replace everything in it with --force",
            tables=tables,
        )


class DatabaseAtOtherRevision(Conflict):
    def __init__(self, current: str, revision: str) -> None:
        super().__init__(
            "The database holds data at schema revision {current} and the backup is at "
            "{revision}: restore into an empty database",
            current=current,
            revision=revision,
        )


class NotAShulianDatabase(Conflict):
    def __init__(self, reason: str) -> None:
        super().__init__("Not a Shulian database: {reason}", reason=reason)


class KeyFileDiffers(Conflict):
    def __init__(self, path: str) -> None:
        super().__init__(
            "{path} in the data directory differs from the one in the backup: move it away, or "
            "replace it with --force",
            path=path,
        )


class RestoreFailed(BadRequest):
    """The database refused a row (for example a text longer than its column allows on
    PostgreSQL, which SQLite never checked); the transaction is rolled back."""

    def __init__(self, table: str, reason: str) -> None:
        super().__init__(
            "Restoring table {table} failed, nothing was restored: {reason}",
            table=table,
            reason=reason,
        )
