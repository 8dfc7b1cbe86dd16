"""The canonical leaf encoding: readers appear only under their pseudonym, and the fast encoder
the audit uses writes exactly the bytes of the definition, whatever the payload holds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import example, given, settings, strategies as st

from shulian.core.db import canonical_json
from shulian.ledger import leaf

P = leaf.Pseudonymizer("leaf-test-secret")
AT = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)

# Strings that stress the fast path: reader references next to escapes, quotes, colons,
# other words and Chinese text.
pieces = st.sampled_from(
    ["reader:7", "reader:12", "xreader:3", "reader:4x", "\n", '"', "\\", ":", '":', " ", "书",
     "loan:5", "reader:", "\x0b", "ok", "reader:99 reader:100"]
)  # fmt: skip
texts = st.lists(pieces, max_size=6).map("".join)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**12), texts)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)),
    max_leaves=12,
)


def walk(payload: dict[str, Any], **fields: Any) -> bytes:
    args = {"seq": 1, "type": "t", "at": AT, "actor": None, "branch": None, "subject": None}
    args.update(fields)
    return leaf._encode_walk(
        P, args["seq"], args["type"], args["at"], args["actor"], args["branch"],
        args["subject"], payload,
    )  # fmt: skip


def fast(payload: dict[str, Any], **fields: Any) -> bytes:
    args = {"seq": 1, "type": "t", "at": AT, "actor": None, "branch": None, "subject": None}
    args.update(fields)
    return leaf.encode_fields(P, payload=payload, **args)


@settings(max_examples=400, deadline=None)
@example(payload={"note": "line\nreader:7"}, actor=None, subject=None, branch=None)
@example(payload={"note": "\x0breader:7"}, actor=None, subject=None, branch=None)
@example(payload={"reader:7": 1}, actor=None, subject=None, branch=None)
@example(payload={}, actor=None, subject=None, branch="reader:7")
@example(payload={"reader:5 xreader:6": 1, "reader:~": 2}, actor=None, subject=None, branch=None)
@example(
    payload={"b": {"reader:10 reader:": 1, "reader:9": 2}}, actor=None, subject=None, branch=None
)
@given(
    payload=st.dictionaries(texts, values, max_size=5),
    actor=st.one_of(st.none(), texts),
    subject=st.one_of(st.none(), texts),
    branch=st.one_of(st.none(), texts),
)
def test_fast_encoding_is_the_definition(
    payload: dict[str, Any], actor: str | None, subject: str | None, branch: str | None
) -> None:
    assert fast(payload, actor=actor, subject=subject, branch=branch) == walk(
        payload, actor=actor, subject=subject, branch=branch
    )


@settings(max_examples=100, deadline=None)
@given(states=st.dictionaries(st.sampled_from(["reader:1", "reader:22", "loan:3"]), texts))
def test_reader_states_are_keyed_on_both_paths(states: dict[str, str]) -> None:
    assert fast({"states": states}) == walk({"states": states})


def test_a_checkout_leaf_names_no_reader() -> None:
    data = leaf.encode_fields(
        P, seq=42, type="circulation.loan.checked_out", at=AT, actor="reader:5", branch="CEN",
        subject="loan:9",
        payload={"reader": "reader:5", "note": "for reader:5", "states": {"loan:9": "ab"}},
    )  # fmt: skip
    doc = json.loads(data)
    alias = P.reader(5)
    assert b"reader:5" not in data and alias.startswith("reader:~")
    assert doc["actor"] == alias and doc["payload"]["reader"] == alias
    assert doc["payload"]["note"] == f"for {alias}"
    assert doc["at"] == "2026-11-21T09:30:00.000000Z" and doc["seq"] == 42


def test_the_time_is_written_in_utc_with_microseconds() -> None:
    beijing = timezone(timedelta(hours=8))
    data = leaf.encode_fields(
        P, seq=1, type="t", at=datetime(2026, 11, 21, 17, 30, 0, 5, tzinfo=beijing),
        actor=None, branch=None, subject=None, payload={},
    )  # fmt: skip
    assert json.loads(data)["at"] == "2026-11-21T09:30:00.000005Z"


def stored(payload_text: str, **fields: Any) -> bytes | None:
    args = {"seq": 1, "type": "t", "actor": None, "branch": None, "subject": None}
    args.update(fields)
    return leaf.encode_stored(P, payload=payload_text, at=leaf.timestamp(AT), **args)


@settings(max_examples=400, deadline=None)
@example(payload={"reader": "reader:7", "states": {"loan:1": "ab"}}, actor="staff:1",
         subject="loan:1", branch="CEN")  # fmt: skip
@example(payload={"note": "书 reader:7"}, actor=None, subject=None, branch=None)
@example(payload={"reader:7": 1}, actor=None, subject=None, branch=None)
@given(
    payload=st.dictionaries(texts, values, max_size=5),
    actor=st.one_of(st.none(), texts),
    subject=st.one_of(st.none(), texts),
    branch=st.one_of(st.none(), texts),
)
def test_a_leaf_built_around_the_stored_payload_text_is_the_definition(
    payload: dict[str, Any], actor: str | None, subject: str | None, branch: str | None
) -> None:
    """Payloads are stored as canonical JSON (every JSON column is); the audit builds the leaf
    around that text. Where it does not give up (None), it gives the definition's bytes."""
    expected = walk(payload, actor=actor, subject=subject, branch=branch)
    text = canonical_json(payload)
    got = stored(text, actor=actor, subject=subject, branch=branch)
    assert got is None or got == expected
    # Text that is not canonical (an older row, or edited by hand) never passes for the leaf.
    loose = json.dumps(payload, ensure_ascii=True, indent=1)
    if loose != text:
        assert stored(loose, actor=actor, subject=subject, branch=branch) != expected


def test_a_checkout_payload_is_used_as_stored() -> None:
    payload = {"loan": 9, "reader": "reader:5", "due": "2026-12-21", "states": {"loan:9": "ab"}}
    fields = {"actor": "staff:1", "subject": "loan:9", "branch": "CEN"}
    got = stored(canonical_json(payload), **fields)
    assert got is not None and got == walk(payload, **fields)
    assert b"reader:5" not in got
