"""Time is passed in. This is the one place that reads the wall clock."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current time, UTC, timezone-aware."""
    return datetime.now(UTC)


def ensure_aware(value: datetime) -> datetime:
    """Values read back from SQLite are naive; every stored time is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
