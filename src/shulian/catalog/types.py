"""The catalog vocabulary other domains, pages and protocols may use: record and item statuses,
digital kinds, import states.

Models and schemas take these from here; other packages import them from ``schemas``."""

from __future__ import annotations

import enum


class RecordStatus(enum.StrEnum):
    """Where a record stands in cataloguing: only ``published`` is visible to readers."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    RETURNED = "returned"  # sent back to the cataloguer with a comment
    APPROVED = "approved"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


class ItemStatus(enum.StrEnum):
    AVAILABLE = "available"
    ON_LOAN = "on_loan"
    IN_TRANSIT = "in_transit"
    ON_HOLD_SHELF = "on_hold_shelf"
    PROCESSING = "processing"  # being catalogued, labelled or repaired
    MISSING = "missing"
    WITHDRAWN = "withdrawn"


class DigitalKind(enum.StrEnum):
    EBOOK = "ebook"
    AUDIOBOOK = "audiobook"
    VIDEO = "video"


class ImportStatus(enum.StrEnum):
    RUNNING = "running"
    DONE = "done"
