"""Rules about readers, staff and logins, as errors."""

from __future__ import annotations

from shulian.core.errors import BadRequest, Conflict, NotFound, TooManyRequests, Unauthorized


class InvalidCredentials(Unauthorized):
    """One message for an unknown account and a wrong password: no account enumeration."""

    def __init__(self) -> None:
        super().__init__("Wrong account name or password")


class TooManyLoginAttempts(TooManyRequests):
    """Held back by the login throttle; ``retry_after`` is the wait in seconds (the API sends
    it as ``Retry-After``)."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = max(1, retry_after)
        if self.retry_after < 60:
            super().__init__(
                "Too many failed logins; try again in {seconds} seconds", seconds=self.retry_after
            )
        else:
            minutes = -(-self.retry_after // 60)
            super().__init__(
                "Too many failed logins; try again in {minutes} minutes", minutes=minutes
            )


class LoginSessionNotFound(NotFound):
    def __init__(self, session_id: int) -> None:
        super().__init__("No login {ref} is open for this account", ref=f"#{session_id}")


class CannotDisableOwnAccount(Conflict):
    """Nobody disables their own staff account: an administrator could lock everyone out."""

    def __init__(self) -> None:
        super().__init__("You cannot disable your own account; ask another administrator")


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
