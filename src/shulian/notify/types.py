"""The notify vocabulary other domains, pages and protocols may use: notice states, channels
and the kinds of failure.

Models and schemas take these from here; other packages import them from ``schemas``."""

from __future__ import annotations

import enum


class NoticeStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after the last retry, or at once when no retry could help
    OBSOLETE = "obsolete"  # no longer true when its turn came (loan returned, hold collected)


class Channel(enum.StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"  # an SMS or WeChat gateway


class FailureKind(enum.StrEnum):
    """Why a send did not go through, as staff see it on the outbox page; the detail (an SMTP
    reply code, an HTTP status) is in ``last_error``."""

    NONE = ""
    NO_ADDRESS = "no_address"  # the reader has no address on this channel
    CHANNEL_OFF = "channel_off"  # the channel is not set up on this installation
    REFUSED = "refused"  # the receiver refused this message for good
    TEMPORARY = "temporary"  # the receiver answered "try later", or refused us (login)
    UNREACHABLE = "unreachable"  # no connection, or no answer in time
    NO_RESULT = "no_result"  # the last attempt's worker never reported back
    UNWRITABLE = "unwritable"  # the message could not be written (unknown kind, bad context)
    UNEXPECTED = "unexpected"  # a fault of ours or a library's while sending
