"""Interface languages: Simplified Chinese (default) and English.

Source strings are English and double as gettext msgids; translations live in gettext ``.po``
catalogues (``web/i18n/<locale>.po``), read with Babel when the app is built. The current
request's language sits in a context variable, so ``gettext`` works in templates, pages and
error handlers alike.
"""

from __future__ import annotations

from contextvars import ContextVar
from pathlib import Path
from typing import Literal

from babel.messages.pofile import read_po

Language = Literal["zh-CN", "en"]
LANGUAGES: tuple[Language, ...] = ("zh-CN", "en")

_current: ContextVar[Language] = ContextVar("shulian_language", default="zh-CN")
_catalogs: dict[str, dict[str, str]] = {}


def load_catalogs(directory: Path) -> None:
    """Read every ``<locale>.po`` in ``directory`` (``zh_CN.po`` serves ``zh-CN``)."""
    for po_path in sorted(directory.glob("*.po")):
        with po_path.open("rb") as fh:
            catalog = read_po(fh)
        locale = po_path.stem.replace("_", "-")
        _catalogs[locale] = {
            str(m.id): str(m.string)
            for m in catalog
            if m.id and isinstance(m.id, str) and m.string and not m.fuzzy
        }


def catalog_messages(locale: str) -> dict[str, str]:
    return dict(_catalogs.get(locale, {}))


def set_language(language: Language) -> None:
    _current.set(language)


def current_language() -> Language:
    return _current.get()


def parse_language(value: str | None) -> Language | None:
    """Map ``zh``, ``zh-cn``, ``zh_CN``, ``en-US``... onto a supported language, else None."""
    if not value:
        return None
    v = value.strip().replace("_", "-").lower()
    for lang in LANGUAGES:
        if v == lang.lower() or v.split("-")[0] == lang.split("-")[0].lower():
            return lang
    return None


def N_(message: str) -> str:  # noqa: N802 - the name gettext's tools look for
    """Marks a message for translation where it is written, to be translated where it is shown
    (stored or passed on in English, then ``gettext`` on a page)."""
    return message


def gettext(message: str) -> str:
    return _catalogs.get(_current.get(), {}).get(message, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return gettext(singular if n == 1 else plural)
