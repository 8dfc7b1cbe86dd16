"""What the ledger pages need around the ledger: the tree's growth as a small inline SVG chart
(no chart library: many libraries run on closed intranets), times in UTC, leaves pretty-printed,
and the verify page's texts in the reader's language."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from shulian.core import i18n
from shulian.ledger.check import MESSAGES
from shulian.ledger.views import CheckpointRow

WIDTH, HEIGHT, PAD = 600, 160, 8


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    size: int
    at: datetime


@dataclass(frozen=True)
class GrowthChart:
    width: int
    height: int
    points: list[Point]  # oldest first
    first: datetime
    last: datetime
    low: int  # the smallest tree size shown (the chart's bottom)
    top: int  # the largest (its top)

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


def growth_chart(rows: Sequence[CheckpointRow]) -> GrowthChart | None:
    """Tree size against time for the checkpoints given (any order); None below two points.
    The size axis runs from the smallest size shown to the largest, so growth shows even when a
    big tree grew by a few leaves (the caption gives both sizes)."""
    ordered = sorted(rows, key=lambda r: (r.issued_at, r.tree_size))
    if len(ordered) < 2:
        return None
    t0, t1 = ordered[0].issued_at.timestamp(), ordered[-1].issued_at.timestamp()
    span = max(t1 - t0, 1.0)
    low = min(r.tree_size for r in ordered)
    top = max(r.tree_size for r in ordered)
    rise = max(top - low, 1)
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD
    points = [
        Point(
            x=PAD + inner_w * (r.issued_at.timestamp() - t0) / span,
            y=PAD + inner_h * (1 - (r.tree_size - low) / rise),
            size=r.tree_size,
            at=r.issued_at,
        )
        for r in ordered
    ]
    return GrowthChart(
        WIDTH, HEIGHT, points, ordered[0].issued_at, ordered[-1].issued_at, low=low, top=top
    )


def utc(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def unix_utc(seconds: int) -> str:
    return utc(datetime.fromtimestamp(seconds, UTC))


def pretty_leaf(data: str) -> str:
    """A leaf's JSON indented for people (the hash is over the compact canonical bytes)."""
    try:
        return json.dumps(json.loads(data), indent=2, ensure_ascii=False, sort_keys=True)
    except ValueError:
        return data


def check_messages() -> dict[str, str]:
    """The verifier's message templates by code, in the current language, for the page's JS."""
    return {code: i18n.gettext(text) for code, text in MESSAGES.items()}
