"""What a notice says: its subject and body in the reader's language (Simplified Chinese by
default, or English), written from the notice's kind and context when it is sent."""

from __future__ import annotations

import contextvars
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from shulian.core import i18n
from shulian.core.i18n import Language, gettext, ngettext

KINDS = ("due_soon", "overdue", "hold_ready")


class UnknownNoticeKind(ValueError):
    """A notice of a kind this version cannot write (queued by a newer one, or by hand)."""


def render(
    kind: str,
    context: dict[str, Any],
    *,
    name: str,
    branch: str,
    today: date,
    tz: ZoneInfo,
    language: Language,
) -> tuple[str, str]:
    """Subject and plain-text body of a notice. ``name`` is the reader's, ``branch`` the name of
    the pickup branch, ``today`` the library's local date at sending.

    Raises: UnknownNoticeKind."""
    if kind not in KINDS:
        raise UnknownNoticeKind(kind)
    # A copied context: the language is set for this message only, whichever thread sends it.
    run = contextvars.copy_context().run
    return run(_render, kind, context, name, branch, today, tz, language)


def _render(
    kind: str,
    context: dict[str, Any],
    name: str,
    branch: str,
    today: date,
    tz: ZoneInfo,
    language: Language,
) -> tuple[str, str]:
    i18n.set_language(language)
    title = str(context.get("title") or "")
    if kind == "hold_ready":
        subject = gettext("Your hold is ready: {title}").format(title=title)
        text = gettext("“{title}” is waiting for you on the hold shelf at {branch}.").format(
            title=title, branch=branch
        )
        if context.get("expires"):
            when = datetime.fromisoformat(str(context["expires"])).astimezone(tz)
            expires = f"{when:%Y-%m-%d %H:%M}"
            text += "\n" + gettext("Please collect it by {expires}.").format(expires=expires)
    elif kind == "due_soon":
        subject = gettext("Due soon: {title}").format(title=title)
        due = date.fromisoformat(str(context["due"]))
        days = (due - today).days
        if days <= 0:
            text = gettext("“{title}” is due today ({due}).")
        else:
            text = ngettext(
                "“{title}” is due in {days} day, on {due}.",
                "“{title}” is due in {days} days, on {due}.",
                days,
            )
        text = text.format(title=title, due=due.isoformat(), days=days)
        text += "\n" + gettext("Renew it online, or return it at any branch.")
    else:
        subject = gettext("Overdue: {title}").format(title=title)
        due = date.fromisoformat(str(context["due"]))
        days = (today - due).days
        if days <= 0:
            text = gettext("“{title}” was due on {due}.")
        else:
            text = ngettext(
                "“{title}” was due on {due} and is {days} day overdue.",
                "“{title}” was due on {due} and is {days} days overdue.",
                days,
            )
        text = text.format(title=title, due=due.isoformat(), days=days)
        text += "\n" + gettext("Please return it at any branch soon; overdue items may be fined.")
    greeting = gettext("Dear {name},").format(name=name)
    footer = gettext("This message was sent automatically by the library; please do not reply.")
    return subject, f"{greeting}\n\n{text}\n\n{footer}\n"
