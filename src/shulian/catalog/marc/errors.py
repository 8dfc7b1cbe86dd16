"""Errors the exchange-format codecs raise for a whole request (a bad option, not a bad record).

A record that cannot be read is not an error: the readers yield a ``RejectedRecord`` for it and go
on, so one broken record never stops an import.
"""

from __future__ import annotations

from shulian.core.errors import BadRequest

__all__ = ["UnknownEncoding", "UnknownRecordFormat"]


class UnknownRecordFormat(BadRequest):
    """The requested exchange format is not one Shulian reads or writes."""

    def __init__(self, format: str, expected: str) -> None:
        super().__init__(
            "Unknown record format {format}: expected one of {expected}",
            format=format,
            expected=expected,
        )


class UnknownEncoding(BadRequest):
    """The character encoding given for an import is not one Python (or MARC-8) knows."""

    def __init__(self, encoding: str) -> None:
        super().__init__("Unknown character encoding {encoding}", encoding=encoding)
