"""ISBN validation and normalisation (ISO 2108).

Rules:

- An ISBN is read from what a catalogue record or a reader types: an optional ``ISBN`` prefix,
  digits separated by hyphens or spaces, and an optional trailing qualifier such as
  ``"(pbk.)"``, ``"(精装)"`` or ``": CNY45.00"``, which is dropped.
- ISBN-10: nine digits and a check character (``0-9`` or ``X``) such that the weighted sum
  ``10*d1 + 9*d2 + ... + 1*d10`` is divisible by 11.
- ISBN-13: thirteen digits beginning with 978 or 979, weights alternating 1 and 3, sum divisible
  by 10.
- The canonical form is the ISBN-13, digits only. An ISBN-10 becomes ``978`` + its first nine
  digits + a new check digit; only 978-prefixed ISBN-13s have an ISBN-10 form.

Anything else raises ``InvalidIsbn`` naming the value and the reason.
"""

from __future__ import annotations

import re

from shulian.core.errors import BadRequest

__all__ = ["InvalidIsbn", "isbn10", "isbn13_from_isbn10", "isbn_variants", "normalize_isbn"]


class InvalidIsbn(BadRequest):
    """The value is not a well-formed ISBN-10 or ISBN-13 (length, characters or check digit)."""

    def __init__(self, value: str, reason: str) -> None:
        super().__init__("Invalid ISBN {value}: {reason}", value=value, reason=reason)


# The ISBN proper: digits, hyphens and spaces, possibly ending in X; the rest is a qualifier.
_PREFIX = re.compile(r"^\s*(?:ISBN(?:-1[03])?\s*:?\s*)", re.IGNORECASE)
_LEADING = re.compile(r"[0-9Xx](?:[0-9Xx \-‐‑–]*[0-9Xx])?")
_SEPARATORS = str.maketrans("", "", " -‐‑–")
# Full-width digits and X/hyphen, as typed with a Chinese input method.
_FULLWIDTH = str.maketrans("０１２３４５６７８９Ｘｘ－", "0123456789Xx-")


def _check_digit_10(first9: str) -> str:
    total = sum((10 - i) * int(d) for i, d in enumerate(first9))
    check = (11 - total % 11) % 11
    return "X" if check == 10 else str(check)


def _check_digit_13(first12: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def _core(raw: str) -> str:
    """The ISBN characters of ``raw`` without prefix, separators and trailing qualifier."""
    text = _PREFIX.sub("", raw.strip().translate(_FULLWIDTH))
    match = _LEADING.match(text)
    if match is None:
        raise InvalidIsbn(raw, "not digits")
    rest = text[match.end() :]
    if rest and not rest[0].isspace() and rest[0] not in "([:;,/.":
        raise InvalidIsbn(raw, f"not digits: unexpected character {rest[0]!r}")
    return match.group(0).translate(_SEPARATORS).upper()


def normalize_isbn(raw: str) -> str:
    """Return the ISBN-13 (13 digits, no separators) of an ISBN-10 or ISBN-13.

    Raises ``InvalidIsbn`` when the value has the wrong length, contains characters other than
    digits (and a final X for an ISBN-10), has a wrong check digit, or is a 13-digit number not
    starting with 978/979.
    """
    core = _core(raw)
    if len(core) == 10:
        if not core[:9].isdigit() or not (core[9].isdigit() or core[9] == "X"):
            raise InvalidIsbn(raw, "an ISBN-10 has nine digits and a check digit 0-9 or X")
        expected = _check_digit_10(core[:9])
        if core[9] != expected:
            raise InvalidIsbn(raw, f"bad check digit {core[9]} (expected {expected})")
        return isbn13_from_isbn10(core)
    if len(core) == 13:
        if not core.isdigit():
            raise InvalidIsbn(raw, "an ISBN-13 has digits only")
        if core[:3] not in ("978", "979"):
            raise InvalidIsbn(raw, "an ISBN-13 starts with 978 or 979")
        expected = _check_digit_13(core[:12])
        if core[12] != expected:
            raise InvalidIsbn(raw, f"bad check digit {core[12]} (expected {expected})")
        return core
    if not core.replace("X", "").isdigit():
        raise InvalidIsbn(raw, "not digits")
    raise InvalidIsbn(raw, f"wrong length: {len(core)} digits (an ISBN has 10 or 13)")


def isbn13_from_isbn10(isbn: str) -> str:
    """The ISBN-13 of a valid 10-character ISBN-10 (no separators); the check is not verified."""
    first12 = "978" + isbn[:9]
    return first12 + _check_digit_13(first12)


def isbn10(isbn13: str) -> str | None:
    """The ISBN-10 form of a normalised ISBN-13, or None for a 979 ISBN (which has none)."""
    if len(isbn13) != 13 or not isbn13.startswith("978"):
        return None
    return isbn13[3:12] + _check_digit_10(isbn13[3:12])


def isbn_variants(raw: str) -> list[str]:
    """The separator-free forms a search should match: the ISBN-13, then the ISBN-10 if any.

    Raises ``InvalidIsbn`` like ``normalize_isbn``.
    """
    thirteen = normalize_isbn(raw)
    ten = isbn10(thirteen)
    return [thirteen, ten] if ten else [thirteen]
