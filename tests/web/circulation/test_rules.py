"""The loan rules editor, with explain and the circulation options."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from shulian.circulation import service as circ
from tests.factories.accounts import make_staff
from tests.factories.circulation import Library
from tests.web.helpers import login, shown


@pytest.fixture
def rules_admin(session: Session, client: TestClient, lib: Library) -> Library:
    make_staff(session, roles=["admin"], username="rules1", branch="CEN")
    login(client, "staff", "rules1")
    return lib


def rule_form(**overrides: str) -> dict[str, str]:
    form = {
        "reader_category": "student",
        "item_type": "",
        "branch_code": "B01",
        "loanable": "true",
        "loan_days": "14",
        "loan_hours": "",
        "renewals": "1",
        "renewal_days": "14",
        "max_loans": "8",
        "max_loans_of_type": "",
        "max_holds": "3",
        "fine_per_day_cents": "0.20",
        "fine_cap_cents": "20",
        "max_fines_cents": "10",
        "grace_days": "1",
        "holds_block_renewal": "true",
        "hold_shelf_days": "5",
        "note": "学生在东城",
    }
    form.update(overrides)
    return form


class TestRules:
    def test_matrix_is_a_table_most_specific_first(
        self, client: TestClient, rules_admin: Library
    ) -> None:
        page = client.get("/staff/rules")
        assert page.status_code == 200
        rows = re.findall(r'data-testid="rule-(\d+)"', page.text)
        assert rows == ["2", "1"]  # children's rule, then the default
        assert "¥0.10" in page.text and "不限" in page.text and "30 天" in page.text

    def test_create_edit_and_delete_a_rule(
        self, session: Session, client: TestClient, rules_admin: Library
    ) -> None:
        r = client.post("/staff/rules/new", data=rule_form(), follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/staff/rules?done=saved"
        created = next(x for x in circ.list_rules(session) if x.note == "学生在东城")
        assert (created.fine_per_day_cents, created.fine_cap_cents) == (20, 2000)
        assert created.loan_hours is None and created.holds_block_renewal
        form = client.get(f"/staff/rules/{created.id}").text
        assert 'value="0.20"' in form and 'value="学生在东城"' in form
        r = client.post(f"/staff/rules/{created.id}", data=rule_form(loan_days="21"))
        assert "规则已保存" in r.text
        assert next(x for x in circ.list_rules(session) if x.id == created.id).loan_days == 21
        r = client.post(f"/staff/rules/{created.id}/delete")
        assert "规则已删除" in r.text and created.id not in {x.id for x in circ.list_rules(session)}

    def test_a_refused_rule_keeps_what_was_typed_and_says_why(
        self, client: TestClient, rules_admin: Library
    ) -> None:
        r = client.post("/staff/rules/new", data=rule_form(loan_days="0", note="我的备注"))
        assert r.status_code == 400
        assert shown(r, "form-error").startswith("借阅规则无效（loan_days）")
        assert 'value="我的备注"' in r.text and 'value="0.20"' in r.text
        assert re.search(r'<label class="invalid">借期（天）', r.text)
        client.post("/staff/rules/new", data=rule_form())
        r = client.post("/staff/rules/new", data=rule_form(note="again"))
        assert r.status_code == 409 and "已覆盖相同的读者类型" in shown(r, "form-error")

    def test_boxes_that_are_not_numbers_are_marked(
        self, client: TestClient, rules_admin: Library
    ) -> None:
        r = client.post("/staff/rules/new", data=rule_form(loan_days="abc", fine_cap_cents="lots"))
        assert r.status_code == 422
        assert shown(r, "error-loan_days") == "请输入整数"
        assert shown(r, "error-fine_cap_cents") == "lots 不是有效的金额（以元计，例如 2.50）"
        assert 'value="abc"' in r.text

    def test_the_default_rule_cannot_be_deleted(
        self, client: TestClient, rules_admin: Library
    ) -> None:
        assert 'data-testid="delete-rule-1"' not in client.get("/staff/rules").text
        r = client.post("/staff/rules/1/delete")
        assert r.status_code == 409 and 'data-testid="rules-error"' in r.text

    def test_explain_names_the_rule_and_why_the_others_do_not_apply(
        self, client: TestClient, rules_admin: Library
    ) -> None:
        client.post("/staff/rules/new", data=rule_form())
        page = client.get(
            "/staff/rules/explain", params={"reader_category": "child", "branch": "CEN"}
        )
        assert "适用规则 2" in shown(page, "explained") or "适用规则 2" in page.text
        assert "适用：匹配的规则中最具体的一条" in page.text
        assert "匹配，但不如规则 2 具体" in page.text
        assert "仅适用于读者类型 student" in page.text
        bad = client.get("/staff/rules/explain", params={"reader_category": "child", "branch": "X"})
        assert bad.status_code == 404 and 'data-testid="rules-error"' in bad.text

    def test_options_are_saved_or_refused_with_the_reason(
        self, session: Session, client: TestClient, rules_admin: Library
    ) -> None:
        r = client.post("/staff/rules/options/history_days", data={"value": "14"})
        assert shown(r, "rules-done") == "设置已保存。"
        assert {o.name: o.value for o in circ.list_options(session)}["history_days"] == "14"
        r = client.post("/staff/rules/options/timezone", data={"value": "Mars/Base"})
        assert r.status_code == 400 and "Mars/Base" in shown(r, "option-error")

    def test_desk_staff_may_read_and_explain_but_not_edit(
        self, client: TestClient, desk: Library
    ) -> None:
        page = client.get("/staff/rules").text
        assert 'data-testid="new-rule"' not in page and "readonly" in page
        r = client.post("/staff/rules/new", data=rule_form())
        assert r.status_code == 403 and "circulation.rules.manage" in r.text
