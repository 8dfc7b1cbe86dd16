"""The consortium vocabulary other domains, pages and protocols may use: branch kinds.

Models and schemas take these from here; other packages import them from ``schemas``."""

from __future__ import annotations

import enum


class BranchKind(enum.StrEnum):
    CENTRAL = "central"  # 总馆
    BRANCH = "branch"  # 分馆
    SELF_SERVICE = "self_service"  # 24 小时自助图书馆
    DELIVERY_POINT = "delivery_point"  # 图书流通点 / 投递点
