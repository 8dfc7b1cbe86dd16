"""Helpers every page handler shares: safe redirects and error messages in the reader's language."""

from __future__ import annotations

from pydantic import ValidationError

from shulian.core.errors import ShulianError


def safe_next(target: str | None, default: str = "/") -> str:
    """Only local paths: ``next`` must never send a reader to another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def error_text(exc: Exception) -> str:
    """A domain error's message, translated; a validation error's problems, one after another."""
    if isinstance(exc, ShulianError):
        return exc.localized()
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
    raise exc
