"""Every string a person can see has a Simplified Chinese translation."""

from __future__ import annotations

import ast
from pathlib import Path

from babel.messages.extract import extract_from_dir

import shulian
from shulian.accounts.schemas import ReaderStatus
from shulian.api.errors import UNEXPECTED
from shulian.core import i18n
from shulian.ledger.check import MESSAGES as LEDGER_CHECKS
from shulian.web.consortium.views import KIND_LABELS
from shulian.web.forms import PROBLEM_TEXTS

SRC = Path(shulian.__file__).parent


def _template_messages() -> set[str]:
    found = set()
    for _f, _l, msg, _c, _ctx in extract_from_dir(
        SRC / "web" / "templates",
        method_map=[("**.html", "jinja2")],
        options_map={"**.html": {"extensions": "jinja2.ext.i18n"}},
    ):
        found.add(msg if isinstance(msg, str) else msg[0])
    return found


def _error_templates() -> set[str]:
    """The message templates domain errors pass to ``super().__init__``."""
    found = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "__init__"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
                and isinstance(node.func.value, ast.Call)
                and getattr(node.func.value.func, "id", "") == "super"
            ):
                found.add(node.args[0].value)
    return found


def test_every_visible_string_is_translated() -> None:
    i18n.load_catalogs(SRC / "web" / "i18n")
    zh = i18n.catalog_messages("zh-CN")
    wanted = (
        _template_messages()
        | _error_templates()
        | set(KIND_LABELS.values())
        | {s.value for s in ReaderStatus}
        | {"Page not found"}
        | set(LEDGER_CHECKS.values())  # the verifier's findings, on pages and in the API
        | set(PROBLEM_TEXTS.values())  # validation problems, on pages and in the API
        | {UNEXPECTED, "Method Not Allowed"}
    )
    assert len(_error_templates()) > 15 and len(wanted) > 80
    missing = sorted(m for m in wanted if m not in zh)
    assert missing == []


def test_translations_keep_their_placeholders() -> None:
    i18n.load_catalogs(SRC / "web" / "i18n")
    import string

    for msgid, msgstr in i18n.catalog_messages("zh-CN").items():
        ids = {f for _, f, _, _ in string.Formatter().parse(msgid) if f}
        strs = {f for _, f, _, _ in string.Formatter().parse(msgstr) if f}
        assert ids == strs, msgid
