"""Rules of the library network, as errors."""

from __future__ import annotations

from shulian.core.errors import BadRequest, Conflict, NotFound


class BranchNotFound(NotFound):
    def __init__(self, code: str) -> None:
        super().__init__("No branch with code {code}", code=code)


class BranchCodeTaken(Conflict):
    def __init__(self, code: str) -> None:
        super().__init__("Branch code {code} is already in use", code=code)


class InvalidBranchTree(BadRequest):
    def __init__(self, reason: str) -> None:
        super().__init__("Invalid place in the library network: {reason}", reason=reason)


class InvalidOpeningHours(BadRequest):
    def __init__(self, weekday: int, reason: str) -> None:
        super().__init__(
            "Opening hours for weekday {weekday}: {reason}", weekday=weekday, reason=reason
        )


class ClosedDayNotFound(NotFound):
    def __init__(self, code: str, day: str) -> None:
        super().__init__("Branch {code} has no closed day on {day}", code=code, day=day)
