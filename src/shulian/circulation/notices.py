"""Circulation's kinds of notice, for the notice outbox (``shulian.notify``): a hold waiting on
the hold shelf, a loan due soon, a loan overdue. Each is written in the reader's language when
it is sent, and is not sent once it no longer holds true.

The service queues them (``notify_service.enqueue``) under keys naming what they are about:
``hold_ready:hold:<hold id>`` when a hold comes ready, ``<due_soon|overdue>:loan:<loan id>:<due
day>`` from the daily scan (one per loan per due day, so a renewal earns a new one).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from shulian.circulation import policy
from shulian.circulation.models import Hold, Loan
from shulian.circulation.service.common import library_tz
from shulian.circulation.types import HoldStatus
from shulian.consortium import service as consortium_service
from shulian.core.errors import NotFound
from shulian.core.i18n import N_, gettext, ngettext
from shulian.notify.kinds import Letter, NoticeKind, NoticeRef


def _branch_name(session: Session, code: str, language: str) -> str:
    if not code:
        return ""
    try:
        branch = consortium_service.get_branch_by_code(session, code)
    except NotFound:
        return code
    return branch.name_zh if language == "zh-CN" else branch.name_en


def _write_hold_ready(session: Session, letter: Letter) -> tuple[str, str]:
    context = letter.notice.context
    title = str(context.get("title") or "")
    branch = _branch_name(session, str(context.get("branch") or ""), letter.language)
    subject = gettext("Your hold is ready: {title}").format(title=title)
    text = gettext("“{title}” is waiting for you on the hold shelf at {branch}.").format(
        title=title, branch=branch
    )
    if context.get("expires"):
        when = datetime.fromisoformat(str(context["expires"])).astimezone(library_tz(session))
        text += "\n" + gettext("Please collect it by {expires}.").format(
            expires=f"{when:%Y-%m-%d %H:%M}"
        )
    return subject, text


def _today(session: Session, letter: Letter) -> date:
    return policy.local_date(letter.now, library_tz(session))


def _write_due_soon(session: Session, letter: Letter) -> tuple[str, str]:
    title = str(letter.notice.context.get("title") or "")
    due = date.fromisoformat(str(letter.notice.context["due"]))
    days = (due - _today(session, letter)).days
    subject = gettext("Due soon: {title}").format(title=title)
    if days <= 0:
        text = gettext("“{title}” is due today ({due}).")
    else:
        text = ngettext(
            "“{title}” is due in {days} day, on {due}.",
            "“{title}” is due in {days} days, on {due}.",
            days,
        )
    text = text.format(title=title, due=due.isoformat(), days=days)
    return subject, text + "\n" + gettext("Renew it online, or return it at any branch.")


def _write_overdue(session: Session, letter: Letter) -> tuple[str, str]:
    title = str(letter.notice.context.get("title") or "")
    due = date.fromisoformat(str(letter.notice.context["due"]))
    days = (_today(session, letter) - due).days
    subject = gettext("Overdue: {title}").format(title=title)
    if days <= 0:
        text = gettext("“{title}” was due on {due}.")
    else:
        text = ngettext(
            "“{title}” was due on {due} and is {days} day overdue.",
            "“{title}” was due on {due} and is {days} days overdue.",
            days,
        )
    text = text.format(title=title, due=due.isoformat(), days=days)
    return subject, text + "\n" + gettext(
        "Please return it at any branch soon; overdue items may be fined."
    )


# Why a notice is not sent: kept in English in the outbox (``last_error``), shown translated.


def _subject_id(notice: NoticeRef, kind: str) -> int | None:
    parts = notice.key.split(":")
    if len(parts) < 4 or parts[1] != kind or not parts[2].isdigit():
        return None
    return int(parts[2])


def _hold_collected(session: Session, notice: NoticeRef) -> str | None:
    hold_id = _subject_id(notice, "hold")
    if hold_id is None:
        return None
    hold = session.get(Hold, hold_id)
    if hold is None or hold.status is not HoldStatus.READY:
        return N_("the hold is no longer on the hold shelf")
    return None


def _loan_settled(session: Session, notice: NoticeRef) -> str | None:
    loan_id = _subject_id(notice, "loan")
    parts = notice.key.split(":")
    if loan_id is None or len(parts) < 5:
        return None
    loan = session.get(Loan, loan_id)
    if loan is None or loan.returned_at is not None:
        return N_("the loan was returned")
    if policy.local_date(loan.due_at, library_tz(session)).isoformat() != parts[3]:
        return N_("the loan is due on another day now")
    return None


HOLD_READY = NoticeKind("hold_ready", "Hold ready for pickup", _write_hold_ready, _hold_collected)
DUE_SOON = NoticeKind("due_soon", "Loan due soon", _write_due_soon, _loan_settled)
OVERDUE = NoticeKind("overdue", "Loan overdue", _write_overdue, _loan_settled)

KINDS: tuple[NoticeKind, ...] = (HOLD_READY, DUE_SOON, OVERDUE)
