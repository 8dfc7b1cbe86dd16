"""Domain error kinds. Services raise these; one handler turns them into responses.

A domain error names the library rule it enforces, e.g.::

    class ItemNotLoanable(Conflict):
        def __init__(self, barcode: str, reason: str) -> None:
            super().__init__("Item {barcode} cannot be lent: {reason}", barcode=barcode,
                             reason=reason)

The message is an English template (also the msgid for translation) and its parameters; the API
answers ``{"error": <class name>, "detail": <message>}``, pages show the translated message.
"""

from __future__ import annotations

from typing import Any, ClassVar

from shulian.core import i18n


class ShulianError(Exception):
    """Base of every error Shulian raises on purpose."""

    status_code: ClassVar[int] = 500

    def __init__(self, template: str, **params: Any) -> None:
        self.template = template
        self.params = params
        super().__init__(self.detail)

    @property
    def detail(self) -> str:
        return self.template.format(**self.params) if self.params else self.template

    def localized(self) -> str:
        """The message in the current language. String parameters that are messages themselves
        (a status, a reason) are translated too; others (a barcode) come through unchanged."""
        params = {k: i18n.gettext(v) if isinstance(v, str) else v for k, v in self.params.items()}
        return i18n.gettext(self.template).format(**params)

    @property
    def code(self) -> str:
        return type(self).__name__


class ConfigurationError(ShulianError):
    """The process cannot start: a setting is missing or malformed."""


class BadRequest(ShulianError):
    status_code = 400


class Unauthorized(ShulianError):
    status_code = 401


class Forbidden(ShulianError):
    status_code = 403


class NotFound(ShulianError):
    status_code = 404


class Conflict(ShulianError):
    status_code = 409


class TooManyRequests(ShulianError):
    status_code = 429
