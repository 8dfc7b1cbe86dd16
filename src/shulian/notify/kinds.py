"""Kinds of notice, as the domains that send them describe them.

A :class:`NoticeKind` says how a notice of its kind is written (its subject and text, in the
reader's language: ``write`` runs with that language set, so it simply calls ``gettext``) and,
optionally, how to tell that it no longer holds true when its turn comes (the loan was
returned, the hold collected), in which case it is not sent. The outbox adds the greeting and the
footer every notice shares. The application gives delivery the kinds of every domain
(:class:`NoticeKinds`); a notice of a kind it does not know fails as unwritable.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from shulian.core import i18n
from shulian.core.i18n import Language, gettext


@dataclass(frozen=True)
class NoticeRef:
    """What a queued notice is about: its unique key (``<kind>:<subject kind>:<id>[:...]``,
    then the channel) and its context (titles, dates, branch codes)."""

    kind: str
    key: str
    context: Mapping[str, Any]


@dataclass(frozen=True)
class Letter:
    """What a notice is written from when it is sent."""

    notice: NoticeRef
    reader_name: str
    language: Language
    now: datetime


Write = Callable[[Session, Letter], tuple[str, str]]
StillTrue = Callable[[Session, NoticeRef], str | None]


def _always(session: Session, notice: NoticeRef) -> str | None:
    return None


@dataclass(frozen=True)
class NoticeKind:
    """One kind of notice. ``label`` is an English message id (translated where shown);
    ``write`` returns (subject, text) in the current language; ``obsolete`` returns why the
    notice no longer holds true (an English message marked with ``N_``, shown translated on the
    outbox page), or None."""

    name: str
    label: str
    write: Write
    obsolete: StillTrue = _always


class UnknownNoticeKind(ValueError):
    """A notice of a kind this installation cannot write (queued by a newer version, by a
    domain no longer installed, or by hand)."""


class NoticeKinds(Mapping[str, NoticeKind]):
    """The kinds delivery knows, by name; a name given twice is refused."""

    def __init__(self, kinds: Iterable[NoticeKind] = ()) -> None:
        self._kinds: dict[str, NoticeKind] = {}
        for kind in kinds:
            if kind.name in self._kinds:
                raise ValueError(f"notice kind {kind.name!r} is registered twice")
            self._kinds[kind.name] = kind

    def __getitem__(self, name: str) -> NoticeKind:
        try:
            return self._kinds[name]
        except KeyError:
            raise UnknownNoticeKind(name) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._kinds)

    def __len__(self) -> int:
        return len(self._kinds)

    def label(self, name: str) -> str:
        """The kind's label in the current language (its name when unknown)."""
        kind = self._kinds.get(name)
        return gettext(kind.label) if kind else name


def compose(session: Session, kind: NoticeKind, letter: Letter) -> tuple[str, str]:
    """Subject and plain-text body of a notice, in ``letter.language``, whichever thread sends
    it (the caller's language is left alone). Raises whatever ``kind.write`` raises on a context
    it cannot write from (KeyError, ValueError)."""
    run = contextvars.copy_context().run
    return run(_compose, session, kind, letter)


def _compose(session: Session, kind: NoticeKind, letter: Letter) -> tuple[str, str]:
    i18n.set_language(letter.language)
    subject, text = kind.write(session, letter)
    greeting = gettext("Dear {name},").format(name=letter.reader_name)
    footer = gettext("This message was sent automatically by the library; please do not reply.")
    return subject, f"{greeting}\n\n{text}\n\n{footer}\n"
