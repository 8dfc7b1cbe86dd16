"""Rules about self-service devices, as errors."""

from __future__ import annotations

from shulian.core.errors import BadRequest, Conflict, Unauthorized


class InvalidKioskCredentials(Unauthorized):
    """One message for an unknown kiosk, a wrong password and a disabled kiosk."""

    def __init__(self) -> None:
        super().__init__("Wrong kiosk login or password")


class KioskLoginTaken(Conflict):
    def __init__(self, login: str) -> None:
        super().__init__("Kiosk login {login} is already in use", login=login)


class UnsupportedKioskEncoding(BadRequest):
    def __init__(self, encoding: str) -> None:
        super().__init__(
            "Kiosk encoding {encoding} is not supported; use utf-8 or gb18030", encoding=encoding
        )
