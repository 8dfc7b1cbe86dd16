"""The circulation vocabulary other domains, pages and protocols may use: hold, transit
and fine states.

Models and schemas take these from here; other packages import them from ``schemas``."""

from __future__ import annotations

import enum


class HoldStatus(enum.StrEnum):
    WAITING = "waiting"  # in the queue
    IN_TRANSIT = "in_transit"  # a copy is trapped and on its way to the pickup branch
    READY = "ready"  # on the hold shelf at the pickup branch
    FULFILLED = "fulfilled"  # checked out to the reader
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # not collected in time


class TransitReason(enum.StrEnum):
    RETURN_HOME = "return_home"
    HOLD = "hold"


class FineKind(enum.StrEnum):
    OVERDUE = "overdue"
    LOST = "lost"
    DAMAGE = "damage"
    OTHER = "other"
