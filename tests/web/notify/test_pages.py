"""The notice pages: a reader chooses channels and language on "my library"; staff allowed to
see the outbox read what waits, what was sent and why something failed."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from shulian.notify import service as notify_service
from shulian.notify.models import Notice
from shulian.notify.schemas import FailureKind, NoticeStatus
from tests.conftest import NOW
from tests.factories.accounts import make_reader, make_staff
from tests.factories.consortium import make_network
from tests.web.helpers import login, shown


class TestMyNotices:
    def test_a_reader_turns_on_the_webhook_and_english_notices(
        self, session: Session, client: TestClient
    ) -> None:
        make_network(session)
        reader = make_reader(session)
        login(client, "reader", reader.card_number)
        page = client.get("/me")
        assert 'data-testid="my-notices"' in page.text
        assert "通知" in shown(page, "my-notices") and "图书馆默认" in page.text
        assert 'data-testid="notice-email" checked' in page.text
        assert 'data-testid="notice-webhook" checked' not in page.text

        saved = client.post(
            "/me/notices", data={"webhook": "on", "language": "en"}, follow_redirects=False
        )
        assert saved.status_code == 303
        assert saved.headers["location"] == "/me?done=notices_saved#notices"
        prefs = notify_service.preferences(session, reader.id)
        assert (prefs.email, prefs.webhook, prefs.language) == (False, True, "en")
        again = client.get("/me?done=notices_saved")
        assert shown(again, "done") == "通知设置已保存。"
        assert 'data-testid="notice-webhook" checked' in again.text
        assert '<option value="en" selected>' in again.text

    def test_only_a_logged_in_reader_may_save(self, client: TestClient) -> None:
        r = client.post("/me/notices", data={"email": "on"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")


class TestOutbox:
    def setup_outbox(self, session: Session) -> str:
        make_network(session)
        reader = make_reader(session)
        for i in range(3):
            notify_service.enqueue(
                session,
                reader_id=reader.id,
                kind="hold_ready",
                key=f"hold_ready:hold:{i}",
                context={"title": "呐喊"},
                now=NOW,
            )
        first, second, _third = session.query(Notice).order_by(Notice.id).all()
        first.status, first.error_kind = NoticeStatus.FAILED, FailureKind.REFUSED
        first.last_error = "SMTP recipient refused ([550])"
        second.status, second.last_error = NoticeStatus.OBSOLETE, "the loan was returned"
        session.flush()
        return reader.card_number

    def test_a_branch_manager_reads_the_outbox_in_chinese(
        self, session: Session, client: TestClient
    ) -> None:
        card = self.setup_outbox(session)
        make_staff(session, roles=["branch_manager"], username="boss")
        login(client, "staff", "boss")
        assert 'data-testid="outbox-link"' in client.get("/staff").text
        page = client.get("/staff/notices")
        assert page.status_code == 200
        assert page.text.count('data-testid="notice"') == 3
        assert shown(page, "count-failed") == "发送失败 1"
        assert shown(page, "count-pending") == "等待发送 1"
        assert shown(page, "obsolete") == "图书已归还"
        failed = client.get("/staff/notices?status=failed")
        assert failed.text.count('data-testid="notice"') == 1
        assert shown(failed, "failure") == "收件方拒收 详情：SMTP recipient refused ([550])"
        assert "预约到馆" in failed.text and card in failed.text
        assert "reader@example.org" not in page.text and "hold_ready" not in page.text
        odd = client.get("/staff/notices?status=nonsense")
        assert odd.status_code == 200 and odd.text.count('data-testid="notice"') == 3

    def test_desk_staff_without_the_permission_are_refused(
        self, session: Session, client: TestClient
    ) -> None:
        self.setup_outbox(session)
        make_staff(session, roles=["circulation"], username="desk")
        login(client, "staff", "desk")
        assert 'data-testid="outbox-link"' not in client.get("/staff").text
        refused = client.get("/staff/notices")
        assert refused.status_code == 403
