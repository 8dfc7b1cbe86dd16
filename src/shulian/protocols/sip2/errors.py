"""Refusals particular to SIP2, as errors: shown on the kiosk's screen (AF), translated."""

from __future__ import annotations

from shulian.core.errors import BadRequest, Forbidden, NotFound, ShulianError, Unauthorized


class KioskNotLoggedIn(Unauthorized):
    def __init__(self) -> None:
        super().__init__("The kiosk has not logged in; send a login (93) first")


class PatronPasswordWrong(Unauthorized):
    def __init__(self) -> None:
        super().__init__("Wrong card number or password")


class PatronPasswordRequired(Unauthorized):
    def __init__(self) -> None:
        super().__init__("Enter the password of the library card")


class PatronNotValid(Forbidden):
    def __init__(self) -> None:
        super().__init__("This library card is not valid")


class ItemIdentifierMissing(BadRequest):
    def __init__(self) -> None:
        super().__init__("Scan the item's barcode")


class UnsupportedHoldMode(BadRequest):
    def __init__(self, mode: str) -> None:
        super().__init__(
            "Hold mode {mode} is not supported here; place or cancel a hold", mode=mode
        )


class NoHoldOnItem(NotFound):
    def __init__(self, barcode: str) -> None:
        super().__init__("The reader has no hold on item {barcode}", barcode=barcode)


class UnsupportedCurrency(BadRequest):
    def __init__(self, currency: str) -> None:
        super().__init__(
            "Payments in {currency} are not accepted; the library takes CNY", currency=currency
        )


class BadFeeAmount(BadRequest):
    def __init__(self, amount: str) -> None:
        super().__init__("{amount} is not an amount that can be paid", amount=amount)


class ServiceUnavailable(ShulianError):
    status_code = 503

    def __init__(self) -> None:
        super().__init__("The library system cannot complete this now; please ask at a desk")
