"""The notice outbox over HTTP: a reader's own preferences, and the outbox for staff allowed to
see it."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from shulian.notify import service
from tests.conftest import NOW
from tests.factories.accounts import bearer, make_reader, make_staff
from tests.factories.consortium import make_network

API = "/api/v1/notify"


def test_a_reader_reads_and_changes_their_preferences(session: Session, client: TestClient) -> None:
    make_network(session)
    reader = make_reader(session)
    h = bearer(client, "reader", reader.card_number)
    assert client.get(f"{API}/me/preferences", headers=h).json() == {
        "email": True,
        "webhook": False,
        "language": None,
    }
    changed = client.put(
        f"{API}/me/preferences", json={"webhook": True, "language": "en"}, headers=h
    )
    assert changed.status_code == 200
    assert changed.json() == {"email": True, "webhook": True, "language": "en"}
    bad = client.put(f"{API}/me/preferences", json={"language": "fr"}, headers=h)
    assert bad.status_code == 422 and "language" in bad.json()["detail"]
    # The circulation preferences endpoint sets the same channels.
    old = client.put("/api/v1/circulation/me/preferences", json={"notify_email": False}, headers=h)
    assert old.json() == {"keep_history": False, "notify_email": False, "notify_webhook": True}
    assert client.get(f"{API}/me/preferences", headers=h).json()["email"] is False


def test_the_outbox_needs_its_permission(session: Session, client: TestClient) -> None:
    make_network(session)
    reader = make_reader(session)
    service.enqueue(
        session,
        reader_id=reader.id,
        kind="hold_ready",
        key="hold_ready:hold:1",
        context={"title": "呐喊"},
        now=NOW,
    )
    make_staff(session, roles=["circulation"], username="desk")
    make_staff(session, roles=["branch_manager"], username="boss")
    refused = client.get(f"{API}/outbox", headers=bearer(client, "staff", "desk"))
    assert refused.status_code == 403 and "notify.outbox.read" in refused.json()["detail"]
    assert client.get(f"{API}/outbox").status_code == 401
    shown = client.get(f"{API}/outbox", headers=bearer(client, "staff", "boss")).json()
    assert shown["total"] == 1 and shown["counts"]["pending"] == 1
    [notice] = shown["items"]
    assert notice["card_number"] == reader.card_number and notice["kind"] == "hold_ready"
    assert "reader@example.org" not in str(shown)
    wrong = client.get(
        f"{API}/outbox", params={"status": "lost"}, headers=bearer(client, "staff", "boss")
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "UnknownNoticeStatus"
