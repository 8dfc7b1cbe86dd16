"""``shulian notify``: the outbox by hand, as an operator sees it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from shulian.cli import app as cli
from shulian.core.db import make_engine, make_sessionmaker, session_scope
from shulian.notify import service as notify_service
from tests.conftest import NOW
from tests.factories.accounts import make_reader
from tests.factories.consortium import make_network
from tests.servers import Inbox, free_port


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    box = Inbox(free_port()).start()
    yield box
    box.stop()


def _queue(url: str, key: str, *, first: bool = True) -> str:
    """A notice for a new reader (about nothing a kind checks, so never obsolete); the card."""
    engine = make_engine(url)
    try:
        with session_scope(make_sessionmaker(engine)) as s:
            if first:
                make_network(s)
            reader = make_reader(s)
            notify_service.enqueue(
                s,
                reader_id=reader.id,
                kind="hold_ready",
                key=key,
                context={"title": "呐喊", "branch": "CEN"},
                now=NOW,
            )
            return reader.card_number
    finally:
        engine.dispose()


def test_outbox_then_deliver(env: str, inbox: Inbox, monkeypatch: pytest.MonkeyPatch) -> None:
    card = _queue(env, "hold_ready:test:1")
    runner = CliRunner()
    before = runner.invoke(cli, ["notify", "outbox"])
    assert before.exit_code == 0, before.output
    assert "pending: 1, sent: 0, failed: 0, obsolete: 0" in before.output
    assert card in before.output and "reader@example.org" not in before.output

    # No mail server set up: the notice fails for good, and the outbox says why.
    failed = runner.invoke(cli, ["notify", "deliver"])
    assert "Notices: 0 sent, 0 to retry, 1 failed." in failed.output
    shown = runner.invoke(cli, ["notify", "outbox", "--status", "failed"])
    assert "channel_off" in shown.output and "pending: 0, sent: 0, failed: 1" in shown.output

    monkeypatch.setenv("SHULIAN_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SHULIAN_SMTP_PORT", str(inbox.port))
    monkeypatch.setenv("SHULIAN_SMTP_FROM", "library@example.org")
    _queue(env, "hold_ready:test:2", first=False)
    sent = runner.invoke(cli, ["notify", "deliver"])
    assert "Notices: 1 sent, 0 to retry, 0 failed." in sent.output
    assert [m.message["Subject"] for m in inbox.messages] == ["预约到馆：《呐喊》"]

    wrong = runner.invoke(cli, ["notify", "outbox", "--status", "lost"])
    assert wrong.exit_code == 2 and "Unknown notice status: lost" in wrong.output


def test_commands_explain_themselves() -> None:
    for command in (["notify"], ["notify", "deliver"], ["notify", "outbox"]):
        result = CliRunner().invoke(cli, [*command, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output
