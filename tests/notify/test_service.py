"""The notice outbox as other domains and readers use it: channels and language a reader
chooses, queueing once per key and channel, and the outbox staff read."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from shulian.accounts.errors import ReaderNotFound
from shulian.core.events import Event
from shulian.notify import service
from shulian.notify.errors import UnknownNoticeStatus
from shulian.notify.models import Notice
from shulian.notify.schemas import Channel, NoticePreferencesUpdate, NoticeStatus
from tests.conftest import NOW
from tests.factories.accounts import make_reader
from tests.factories.consortium import make_network


@pytest.fixture
def reader_id(session: Session) -> int:
    make_network(session)
    return make_reader(session).id


def queue(session: Session, reader_id: int, key: str) -> list[int]:
    return service.enqueue(
        session,
        reader_id=reader_id,
        kind="hold_ready",
        key=key,
        context={"title": "呐喊", "branch": "CEN"},
        now=NOW,
    )


class TestPreferences:
    def test_a_new_reader_gets_email_in_the_librarys_language(
        self, session: Session, reader_id: int
    ) -> None:
        prefs = service.preferences(session, reader_id)
        assert (prefs.email, prefs.webhook, prefs.language) == (True, False, None)
        assert service.channels_for(session, reader_id) == [Channel.EMAIL]
        assert service.reader_language(session, reader_id) is None

    def test_channels_and_language_change_only_as_asked_and_are_recorded(
        self, session: Session, reader_id: int
    ) -> None:
        changed = service.set_preferences(
            session,
            reader_id=reader_id,
            data=NoticePreferencesUpdate(webhook=True, language="en"),
            actor=f"reader:{reader_id}",
            now=NOW,
        )
        assert (changed.email, changed.webhook, changed.language) == (True, True, "en")
        assert service.channels_for(session, reader_id) == [Channel.EMAIL, Channel.WEBHOOK]
        assert service.reader_language(session, reader_id) == "en"
        # Leaving the language out keeps it; naming it null goes back to the library's.
        kept = service.set_preferences(
            session,
            reader_id=reader_id,
            data=NoticePreferencesUpdate(email=False),
            actor="r",
            now=NOW,
        )
        assert (kept.email, kept.language) == (False, "en")
        back = service.set_preferences(
            session,
            reader_id=reader_id,
            data=NoticePreferencesUpdate.model_validate({"language": None}),
            actor="r",
            now=NOW,
        )
        assert back.language is None and service.channels_for(session, reader_id) == [
            Channel.WEBHOOK
        ]
        recorded = session.scalars(
            select(Event).where(Event.type == "notify.preferences.updated")
        ).all()
        assert len(recorded) == 3
        assert recorded[0].subject == f"reader:{reader_id}"
        assert recorded[0].payload == {"email": True, "webhook": True, "language": "en"}

    def test_an_unknown_reader_is_refused(self, session: Session, reader_id: int) -> None:
        with pytest.raises(ReaderNotFound):
            service.preferences(session, reader_id + 1000)


class TestEnqueue:
    def test_once_per_key_and_channel(self, session: Session, reader_id: int) -> None:
        service.set_preferences(
            session,
            reader_id=reader_id,
            data=NoticePreferencesUpdate(webhook=True),
            actor="r",
            now=NOW,
        )
        first = queue(session, reader_id, "hold_ready:hold:1")
        assert len(first) == 2
        assert queue(session, reader_id, "hold_ready:hold:1") == []
        keys = set(session.scalars(select(Notice.key).where(Notice.id.in_(first))))
        assert keys == {"hold_ready:hold:1:email", "hold_ready:hold:1:webhook"}

    def test_a_reader_with_no_channel_gets_nothing(self, session: Session, reader_id: int) -> None:
        service.set_preferences(
            session,
            reader_id=reader_id,
            data=NoticePreferencesUpdate(email=False),
            actor="r",
            now=NOW,
        )
        assert queue(session, reader_id, "hold_ready:hold:2") == []


class TestOutbox:
    def test_newest_first_with_counts_and_no_contact_details(
        self, session: Session, reader_id: int
    ) -> None:
        for i in range(3):
            queue(session, reader_id, f"hold_ready:hold:{i}")
        oldest = session.scalars(select(Notice).order_by(Notice.id)).first()
        assert oldest is not None
        oldest.status, oldest.last_error = NoticeStatus.FAILED, "reader has no e-mail address"
        oldest.created_at = NOW - timedelta(hours=1)
        session.flush()

        page = service.outbox(session)
        assert page.total == 3 and page.counts[NoticeStatus.PENDING] == 2
        assert page.counts[NoticeStatus.FAILED] == 1 and page.counts[NoticeStatus.SENT] == 0
        assert page.items[-1].id == oldest.id
        assert "reader@example.org" not in page.model_dump_json()
        assert "13800000000" not in page.model_dump_json()

        failed = service.outbox(session, status="failed")
        assert [n.id for n in failed.items] == [oldest.id] and failed.total == 1
        assert service.outbox(session, status="pending", size=1, page=2).items[0].id != oldest.id

    def test_an_unknown_status_is_refused(self, session: Session) -> None:
        with pytest.raises(UnknownNoticeStatus):
            service.outbox(session, status="lost")
