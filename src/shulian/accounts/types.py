"""The accounts vocabulary other domains, pages and protocols may use: reader statuses.

Models and schemas take these from here; other packages import them from ``schemas``."""

from __future__ import annotations

import enum


class ReaderStatus(enum.StrEnum):
    ACTIVE = "active"
    BLOCKED = "blocked"  # by staff or by a rule (fines); may log in, may not borrow
    LOST_CARD = "lost_card"  # the card number no longer lends; the reader keeps the account
    LEFT = "left"  # closed account
