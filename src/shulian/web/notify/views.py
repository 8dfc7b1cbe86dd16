"""What the notice pages show around the outbox service: labels for states, channels and kinds
of failure (English message ids, translated in the templates), and the reader's choices."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shulian.core.config import Settings
from shulian.notify import service as notify_service
from shulian.notify.schemas import Channel, FailureKind, NoticeStatus

STATUS_LABELS: dict[str, str] = {
    NoticeStatus.PENDING: "Waiting to be sent",
    NoticeStatus.SENT: "Sent to the reader",
    NoticeStatus.FAILED: "Failed",
    NoticeStatus.OBSOLETE: "Not sent: no longer true",
}
CHANNEL_LABELS: dict[str, str] = {
    Channel.EMAIL: "E-mail",
    Channel.WEBHOOK: "SMS / WeChat",
}
FAILURE_LABELS: dict[str, str] = {
    FailureKind.NO_ADDRESS: "The reader has no address on this channel",
    FailureKind.CHANNEL_OFF: "This channel is not set up",
    FailureKind.REFUSED: "Refused by the receiver",
    FailureKind.TEMPORARY: "The receiver asked to try later",
    FailureKind.UNREACHABLE: "The receiver could not be reached",
    FailureKind.NO_RESULT: "The last attempt never reported back",
    FailureKind.UNWRITABLE: "The message could not be written",
    FailureKind.UNEXPECTED: "An unexpected error while sending",
}


#: Failures whose recorded reason adds something to the label: a reply code, a status, a class.
DETAILED = frozenset(
    {FailureKind.REFUSED, FailureKind.TEMPORARY, FailureKind.UNREACHABLE, FailureKind.UNEXPECTED}
)


def offered_channels(settings: Settings) -> dict[Channel, bool]:
    """Each channel, and whether this installation can send on it."""
    return {
        Channel.EMAIL: bool(settings.smtp_host),
        Channel.WEBHOOK: bool(settings.notice_webhook_url),
    }


def preferences_context(session: Session, reader_id: int, settings: Settings) -> dict[str, Any]:
    """What the "notices" section of "my library" shows."""
    return {
        "prefs": notify_service.preferences(session, reader_id),
        "offered": offered_channels(settings),
        "channel_labels": CHANNEL_LABELS,
        "library_language": settings.default_language,
    }
