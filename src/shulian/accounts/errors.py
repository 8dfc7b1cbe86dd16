"""Rules about readers, staff and logins, as errors."""

from __future__ import annotations

from shulian.core.errors import BadRequest, Conflict, NotFound, TooManyRequests, Unauthorized


class InvalidCredentials(Unauthorized):
    """One message for an unknown account and a wrong password: no account enumeration."""

    def __init__(self) -> None:
        super().__init__("Wrong account name or password")


class TooManyLoginAttempts(TooManyRequests):
    def __init__(self, minutes: int) -> None:
        super().__init__("Too many failed logins; try again in {minutes} minutes", minutes=minutes)


class ReaderNotFound(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__("No reader {ref}", ref=ref)


class StaffNotFound(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__("No staff account {ref}", ref=ref)


class CardNumberTaken(Conflict):
    def __init__(self, card_number: str) -> None:
        super().__init__("Card number {card} is already in use", card=card_number)


class UsernameTaken(Conflict):
    def __init__(self, username: str) -> None:
        super().__init__("Username {username} is already in use", username=username)


class UnknownReaderCategory(BadRequest):
    def __init__(self, code: str) -> None:
        super().__init__("Unknown reader category {code}", code=code)


class UnknownRole(BadRequest):
    def __init__(self, code: str) -> None:
        super().__init__("Unknown role {code}", code=code)


class InvalidReaderQR(BadRequest):
    def __init__(self) -> None:
        super().__init__("This reader QR code is invalid or has expired; ask for a fresh one")
