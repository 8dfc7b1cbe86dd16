"""Errors of the notice outbox, named after the rule they enforce."""

from __future__ import annotations

from shulian.core.errors import BadRequest


class UnknownNoticeStatus(BadRequest):
    def __init__(self, status: str) -> None:
        super().__init__("Unknown notice status: {status}", status=status)
