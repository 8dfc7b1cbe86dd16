"""The ledger's pages: the staff explorer (``ledger.audit`` only: checkpoints over time, an event
with its proof checked, the last audit, witnessing with split views as an alarm) and the public
verify page (open to anyone, in both languages, linked from every page and from each loan)."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from shulian.circulation import service as circ
from shulian.ledger.audit import record_audit
from shulian.ledger.models import LedgerCosignature, LedgerPeer, LedgerSplitView
from shulian.ledger.schemas import AuditProblem, AuditReport
from tests.conftest import NOW
from tests.factories.accounts import make_staff
from tests.factories.circulation import Library, make_library
from tests.factories.ledger import sign, take_in
from tests.web.helpers import login, shown


@pytest.fixture
def lib(session: Session) -> Library:
    return make_library(session)


def lend(session: Session, lib: Library, i: int = 0) -> Any:
    return circ.check_out(
        session,
        reader_id=lib.readers[i].id,
        barcode=lib.items[i].barcode,
        branch="CEN",
        actor="staff:1",
        now=NOW,
    )


@pytest.fixture
def auditor(session: Session, client: TestClient, lib: Library) -> Library:
    make_staff(session, roles=["admin"], username="auditor")
    login(client, "staff", "auditor")
    return lib


class TestVerifyPage:
    def test_anyone_opens_it_in_chinese_with_the_librarys_key_filled_in(
        self, client: TestClient
    ) -> None:
        page = client.get("/ledger/verify")
        assert page.status_code == 200
        assert "<h1>验证账本</h1>" in page.text
        key = client.get("/api/v1/ledger/key").text.strip()
        assert f'value="{key}"' in page.text
        assert '<script type="module" src="/static/ledger-verify.js">' in page.text
        texts = json.loads(
            html.unescape(
                re.search(r'id="verify-messages">(.*?)</script>', page.text, re.S).group(1)  # type: ignore[union-attr]
            )
        )
        assert texts["checks"]["sig_bad"] == "签名无效：第 {line} 行的签名与检查点内容不符"
        assert texts["labels"]["inclusion"] == "包含证明"
        assert texts["ui"]["verdict_ok"] == "全部检查通过。"

    def test_in_english_too(self, client: TestClient) -> None:
        client.get("/lang/en")
        page = client.get("/ledger/verify")
        assert "<h1>Verify the ledger</h1>" in page.text
        assert "your own browser checks it against the library's key" in page.text
        assert "bad signature: line {line} does not verify" in page.text

    def test_a_loan_or_an_event_to_load_is_handed_to_the_script(self, client: TestClient) -> None:
        page = client.get("/ledger/verify", params={"loan": 7})
        assert 'data-loan="7" data-seq=""' in page.text
        page = client.get("/ledger/verify", params={"seq": 12})
        assert 'data-loan="" data-seq="12"' in page.text
        assert client.get("/ledger/verify", params={"loan": "x"}).status_code == 422

    def test_every_page_links_to_it(self, client: TestClient) -> None:
        assert 'href="/ledger/verify" data-testid="verify-link">验证账本' in client.get("/").text

    def test_my_library_links_each_loan_to_its_receipt(
        self, session: Session, client: TestClient, lib: Library
    ) -> None:
        loan = lend(session, lib)
        login(client, "reader", lib.reader.card_number)
        page = client.get("/me")
        assert f'href="/ledger/verify?loan={loan.id}" data-testid="receipt"' in page.text
        assert shown(page, "receipt") == "凭证"


class TestStaffLedgerGuard:
    def test_anonymous_is_sent_to_log_in(self, client: TestClient) -> None:
        r = client.get("/staff/ledger", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login?next=/staff/ledger"

    def test_readers_are_refused(self, client: TestClient, lib: Library) -> None:
        login(client, "reader", lib.reader.card_number)
        assert client.get("/staff/ledger").status_code == 403

    def test_staff_without_ledger_audit_are_refused_and_not_shown_the_link(
        self, session: Session, client: TestClient, lib: Library
    ) -> None:
        make_staff(session, roles=["circulation"], username="desk")
        login(client, "staff", "desk")
        r = client.get("/staff/ledger")
        assert r.status_code == 403 and "ledger.audit" in r.text
        assert 'data-testid="ledger-link"' not in client.get("/staff").text

    def test_auditors_get_in_from_the_staff_home(
        self, client: TestClient, auditor: Library
    ) -> None:
        assert 'href="/staff/ledger" data-testid="ledger-link"' in client.get("/staff").text
        assert client.get("/staff/ledger").status_code == 200


class TestExplorer:
    def test_an_empty_ledger_says_so(self, client: TestClient, auditor: Library) -> None:
        page = client.get("/staff/ledger")
        assert "尚未签发检查点。" in page.text
        assert shown(page, "audit-none") == "尚未审计；请运行 `shulian ledger verify`。"
        assert shown(page, "no-split-views") == "未发现分叉视图。"
        assert 'data-testid="growth-chart"' not in page.text

    def test_checkpoints_over_time_with_signers_and_a_growth_chart(
        self, session: Session, client: TestClient, app: FastAPI, auditor: Library
    ) -> None:
        lend(session, auditor, 0)
        first = sign(session, app, now=NOW)
        lend(session, auditor, 1)
        second = sign(session, app, now=NOW + timedelta(minutes=5))
        session.add(
            LedgerCosignature(
                origin=app.state.ledger_signer.name,
                tree_size=second.tree_size,
                root_hash=second.root_hash,
                witness="witness.other-library.cn",
                timestamp=int(NOW.timestamp()) + 400,
                line="\u2014 witness.other-library.cn AAAA",
                received_at=NOW + timedelta(minutes=7),
            )
        )
        session.flush()
        page = client.get("/staff/ledger")
        assert page.text.count('data-testid="checkpoint-row"') == 2
        rows = re.findall(r'data-testid="checkpoint-row">(.*?)</tr>', page.text, re.S)
        assert rows[0].startswith(f"<td>{second.tree_size}</td>")  # newest first
        assert second.root_hash.hex() in rows[0] and "2026-11-21 09:35:00 UTC" in rows[0]
        assert app.state.ledger_signer.name in rows[0] and "witness.other-library.cn" in rows[0]
        assert rows[1].startswith(f"<td>{first.tree_size}</td>")
        chart = re.search(r'<polyline points="([^"]+)"', page.text)
        assert chart is not None
        (x0, y0), (x1, y1) = (tuple(map(float, p.split(","))) for p in chart.group(1).split())
        assert x0 < x1 and y0 > y1  # later and larger: right and up
        assert shown(page, "ledger-summary").startswith(
            f"{app.state.ledger_signer.name} 的树中有 {second.tree_size} 片叶子。"
        )

    def test_an_event_by_seq_or_leaf_index_with_its_proof_checked(
        self, session: Session, client: TestClient, app: FastAPI, auditor: Library
    ) -> None:
        loan = lend(session, auditor, 0)
        lend(session, auditor, 1)
        sign(session, app, now=NOW)
        by_seq = client.get("/staff/ledger", params={"event": loan.event_seq, "by": "seq"})
        index = int(shown(by_seq, "lookup-index"))
        assert shown(by_seq, "lookup-seq") == str(loan.event_seq)
        leaf = html.unescape(shown(by_seq, "lookup-leaf"))
        assert json.loads(leaf)["type"] == "circulation.loan.checked_out"
        assert "reader:~" in leaf and f"reader:{auditor.reader.id}" not in leaf
        assert shown(by_seq, "checks-verdict") == "全部检查通过。"
        assert by_seq.text.count('data-ok="true"') == 11  # the verdict and ten checks
        assert 'href="/ledger/verify?seq=' in by_seq.text
        by_index = client.get("/staff/ledger", params={"event": index, "by": "index"})
        assert shown(by_index, "lookup-leaf-hash") == shown(by_seq, "lookup-leaf-hash")

    def test_an_event_not_yet_checkpointed_shows_its_leaf_and_waits(
        self, session: Session, client: TestClient, app: FastAPI, auditor: Library
    ) -> None:
        lend(session, auditor, 0)
        sign(session, app, now=NOW)
        later = lend(session, auditor, 1)
        take_in(session, app)
        page = client.get("/staff/ledger", params={"event": later.event_seq})
        assert "尚无已签名的检查点覆盖此事件" in shown(page, "lookup-pending")
        assert 'data-testid="lookup-leaf"' in page.text

    def test_a_lookup_that_finds_nothing_says_why(
        self, client: TestClient, auditor: Library
    ) -> None:
        page = client.get("/staff/ledger", params={"event": "99999", "by": "index"})
        assert page.status_code == 200
        assert shown(page, "lookup-error").startswith("账本中没有第 99999 个叶子")
        page = client.get("/staff/ledger", params={"event": "12a"})
        assert shown(page, "lookup-error") == "请用整数填写事件编号或叶子序号。"

    def test_the_last_audit_with_its_problems(
        self, session: Session, client: TestClient, auditor: Library
    ) -> None:
        fine = AuditReport(ok=True, leaves=10, checkpoints=2, rows_checked=40, problems=[])
        record_audit(session, fine, started_at=NOW, finished_at=NOW, started_by="cli:admin")
        assert shown(client.get("/staff/ledger"), "audit-verdict") == "未发现问题。"
        bad = AuditReport(
            ok=False,
            leaves=10,
            checkpoints=2,
            rows_checked=40,
            problem_count=1,
            problems=[AuditProblem(where="loans id=3", problem="row changed behind the ledger")],
        )
        record_audit(session, bad, started_at=NOW, finished_at=NOW, started_by="staff:auditor")
        page = client.get("/staff/ledger")
        assert shown(page, "audit-verdict") == "发现 1 个问题。"
        assert "loans id=3" in shown(page, "audit-problems")
        assert "staff:auditor" in page.text

    def test_witnessing_tables_and_a_split_view_as_an_alarm(
        self, session: Session, client: TestClient, auditor: Library
    ) -> None:
        session.add(
            LedgerPeer(
                origin="east.library.cn/ledger",
                url="https://east.library.cn",
                vkey="east.library.cn/ledger+00000000+AQ==",
                last_size=41,
                last_root=b"\x07" * 32,
                last_checked_at=NOW,
                last_error="timed out",
            )
        )
        session.add(
            LedgerSplitView(
                origin="east.library.cn/ledger",
                reason="two roots for size 41",
                note_a="east.library.cn/ledger\n41\nAAAA\n",
                note_b="east.library.cn/ledger\n41\nBBBB\n",
                detected_at=NOW,
            )
        )
        session.flush()
        page = client.get("/staff/ledger")
        assert "east.library.cn/ledger" in shown(page, "peers") and "timed out" in page.text
        alarm = shown(page, "split-views")
        assert alarm.startswith("分叉视图：一份日志出示了两棵不同的树")
        assert "two roots for size 41" in alarm
        assert 'role="alert" data-testid="split-views"' in page.text

    def test_in_english(self, session: Session, client: TestClient, auditor: Library) -> None:
        client.get("/lang/en")
        page = client.get("/staff/ledger")
        assert "<h1>Ledger</h1>" in page.text
        assert "Checkpoints over time" in page.text
        assert shown(page, "audit-none") == "No audit yet; run `shulian ledger verify`."
