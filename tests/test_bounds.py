"""Every integer the platform accepts has bounds, and a value past them gets a 422 in the
caller's language instead of reaching the database (where past 64 bits the driver overflows).

The integers are found in the app itself, not listed by hand: the API's in its OpenAPI document,
the pages' (``include_in_schema=False``) in the same kind of document built from their routes.
A route added later with a bare ``int`` fails ``test_every_integer_*_is_bounded``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.accounts import bearer, make_reader, make_staff
from tests.factories.catalog import make_record
from tests.factories.consortium import make_network
from tests.test_permissions import _api_routes

TOO_BIG = 2**63  # one past the largest 64-bit integer: the SQLite driver cannot bind it
SAMPLES = {"code": "CEN", "barcode": "T0000001", "name": "history_days", "format": "marc21"}


def _page_document(app: FastAPI) -> dict[str, Any]:
    """The pages described as OpenAPI describes the API (from copies of their routes)."""
    pages = []
    for route in _api_routes(app.routes):
        if not route.include_in_schema:
            shown = copy.copy(route)
            shown.include_in_schema = True
            pages.append(shown)
    return get_openapi(title="pages", version="0", routes=pages)


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].split("/")[-1]]
    return schema


def _numbers(
    doc: dict[str, Any], schema: dict[str, Any], where: str, seen: frozenset[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every integer (or number) schema inside ``schema``, with where it is."""
    if "$ref" in schema:
        name = schema["$ref"].split("/")[-1]
        if name not in seen:
            yield from _numbers(doc, _resolve(doc, schema), where, seen | {name})
        return
    types = schema.get("type")
    if types in ("integer", "number") or (
        isinstance(types, list) and {"integer", "number"} & set(types)
    ):
        yield where, schema
    for key in ("anyOf", "oneOf", "allOf"):
        for part in schema.get(key, []):
            yield from _numbers(doc, part, where, seen)
    for name, part in schema.get("properties", {}).items():
        yield from _numbers(doc, part, f"{where}.{name}", seen)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from _numbers(doc, schema[key], f"{where}[]", seen)


def accepted_numbers(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every number a client may send: parameters (path, query, header, cookie) and request
    bodies (JSON, forms, uploads), nested fields included."""
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            for p in op.get("parameters", []):
                where = f"{method.upper()} {path} {p['in']} {p['name']}"
                yield from _numbers(doc, p["schema"], where, frozenset())
            for media, content in op.get("requestBody", {}).get("content", {}).items():
                where = f"{method.upper()} {path} {media}"
                yield from _numbers(doc, content.get("schema", {}), where, frozenset())


def _unbounded(doc: dict[str, Any]) -> tuple[int, list[str]]:
    found = list(accepted_numbers(doc))
    missing = [
        where
        for where, s in found
        if not (
            {"minimum", "exclusiveMinimum"} & s.keys()
            and {"maximum", "exclusiveMaximum"} & s.keys()
        )
    ]
    return len(found), missing


def test_every_integer_the_api_accepts_is_bounded(app: FastAPI) -> None:
    count, missing = _unbounded(app.openapi())
    assert count > 40  # ids, pages, money, counts in bodies: the walk reached them
    assert missing == []


def test_every_integer_the_pages_accept_is_bounded(app: FastAPI) -> None:
    count, missing = _unbounded(_page_document(app))
    assert count > 20
    assert missing == []


# -- what a caller sees -----------------------------------------------------------------------


def _url(path: str, value: int, target: str | None) -> str:
    def fill(m: re.Match[str]) -> str:
        name = m.group(1)
        return str(value) if name == target else SAMPLES.get(name, "1")

    return re.sub(r"\{(\w+)\}", fill, path)


def _required_query(op: dict[str, Any], doc: dict[str, Any], target: str | None) -> dict[str, str]:
    out = {}
    for p in op.get("parameters", []):
        if p["in"] == "query" and p.get("required") and p["name"] != target:
            kind = _resolve(doc, p["schema"]).get("type")
            out[p["name"]] = "1" if kind == "integer" else SAMPLES.get(p["name"], "CEN")
    return out


def integer_inputs(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any], str, str]]:
    """(method, path, operation, where, name) for each integer parameter (path, query) and
    each integer field at the top of a JSON or form body."""
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            for p in op.get("parameters", []):
                if p["in"] in ("path", "query") and _is_integer(doc, p["schema"]):
                    yield method.upper(), path, op, p["in"], p["name"]
            for media, content in op.get("requestBody", {}).get("content", {}).items():
                body = _resolve(doc, content.get("schema", {}))
                for name, field in body.get("properties", {}).items():
                    if _is_integer(doc, field):
                        yield method.upper(), path, op, media, name


def _is_integer(doc: dict[str, Any], schema: dict[str, Any]) -> bool:
    """An integer itself (or an optional one), not a list or an object holding some."""
    return any(where == "" for where, _s in _numbers(doc, schema, "", frozenset()))


@pytest.fixture
def admin(session: Session, client: TestClient) -> dict[str, str]:
    make_network(session)
    make_staff(session, roles=["admin"], username="boss", branch="CEN")
    return bearer(client, "staff", "boss")


@pytest.fixture
def callers(session: Session, client: TestClient, admin: dict[str, str]) -> list[dict[str, str]]:
    """Staff who may do anything, then a reader (for the routes of a reader's own account)."""
    make_reader(session, card="BOUNDS1")
    return [admin, bearer(client, "reader", "BOUNDS1")]


def _send(
    client: TestClient,
    doc: dict[str, Any],
    found: tuple[str, str, dict[str, Any], str, str],
    value: int,
    callers: list[dict[str, str]],
) -> Any:
    method, path, op, where, name = found
    target = name if where in ("path", "query") else None
    params = _required_query(op, doc, target)
    kwargs: dict[str, Any] = {"follow_redirects": False}
    if where == "query":
        params[name] = str(value)
    elif where == "application/json":
        kwargs["json"] = {name: value}
    elif where != "path":
        kwargs["data"] = {name: str(value)}
    for headers in callers:  # the first one let in
        r = client.request(
            method, _url(path, value, target), params=params, headers=headers, **kwargs
        )
        if r.status_code != 403:
            break
    return r


def test_api_integers_past_64_bits_get_a_422_naming_them_in_the_callers_language(
    app: FastAPI, client: TestClient, callers: list[dict[str, str]]
) -> None:
    doc = app.openapi()
    inputs = list(integer_inputs(doc))
    assert len(inputs) > 35
    wrong = []
    for found in inputs:
        r = _send(client, doc, found, TOO_BIG, callers)
        body = r.json() if r.headers.get("content-type") == "application/json" else {}
        if not (
            r.status_code == 422
            and body.get("error") == "ValidationError"
            and f"{found[4]}: Input should be less than or equal to" in body.get("detail", "")
            and f"{found[4]}: 不能大于" in body.get("message", "")
        ):
            wrong.append((found[0], found[1], found[4], r.status_code, r.text[:200]))
    assert wrong == []


def test_api_integers_at_their_bounds_reach_the_database_without_a_5xx(
    app: FastAPI, client: TestClient, callers: list[dict[str, str]]
) -> None:
    # The largest value a parameter admits must fit the column it is compared with, on SQLite
    # and PostgreSQL alike (ids are INTEGER there, ledger positions BIGINT).
    doc = app.openapi()
    failed = []
    for found in integer_inputs(doc):
        if found[3] not in ("path", "query"):
            continue
        (param,) = [p for p in found[2]["parameters"] if p["name"] == found[4]]
        bounds = next(s for _w, s in _numbers(doc, param["schema"], "", frozenset()))
        for value in (bounds["maximum"], bounds["minimum"]):
            r = _send(client, doc, found, int(value), callers)
            if r.status_code >= 500:
                failed.append((found[0], found[1], found[4], value, r.text[:200]))
    assert failed == []


def test_pages_answer_integers_past_64_bits_with_a_422_page_in_chinese(
    app: FastAPI, client: TestClient, callers: list[dict[str, str]]
) -> None:
    doc = _page_document(app)
    inputs = list(integer_inputs(doc))
    assert len(inputs) > 20
    wrong = []
    for found in inputs:
        r = _send(client, doc, found, TOO_BIG, callers)
        if not (r.status_code == 422 and f"{found[4]}: 不能大于" in r.text):
            wrong.append((found[0], found[1], found[4], r.status_code, r.text[:200]))
    assert wrong == []


class TestNumbersTypedAsText:
    """Numbers pages read from text boxes, which no schema bounds before they are parsed (the
    record, item and rule editors then validate them with the API's schemas, whose bounds the
    document check above covers)."""

    def test_the_ledger_explorer_says_no_event_has_so_large_a_number(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        for by in ("seq", "index"):
            r = client.get("/staff/ledger", params={"event": "9" * 20, "by": by}, headers=admin)
            assert r.status_code == 200
            assert "没有这么大编号的事件或叶子" in r.text
        superscript = client.get("/staff/ledger", params={"event": "²"}, headers=admin)
        assert superscript.status_code == 200 and "lookup-error" in superscript.text

    def test_an_item_price_that_is_no_amount_is_a_form_error(
        self, session: Session, client: TestClient, admin: dict[str, str]
    ) -> None:
        record = make_record(session)
        for price in ("Infinity", "NaN", "1e999999999", "99999999999"):
            r = client.post(
                f"/staff/catalog/{record.id}/items",
                data={"barcode": "P0001", "branch": "CEN", "price": price},
                headers=admin,
            )
            assert r.status_code == 422, (price, r.status_code)
            assert "price_cents" in r.text

    def test_a_payment_too_large_for_any_decimal_is_a_refusal(
        self, session: Session, client: TestClient, admin: dict[str, str]
    ) -> None:
        reader = make_reader(session)
        for amount in ("1e999999999", "-1e999999999", "Infinity"):
            r = client.post(
                f"/staff/desk/readers/{reader.id}/payments", data={"amount": amount}, headers=admin
            )
            assert r.status_code == 400, (amount, r.status_code)
            assert amount in r.text

    def test_a_record_version_past_64_bits_is_a_form_error(
        self, session: Session, client: TestClient, admin: dict[str, str]
    ) -> None:
        record = make_record(session)
        r = client.post(
            f"/staff/catalog/{record.id}/edit",
            data={"title": "呐喊", "version": str(TOO_BIG)},
            headers=admin,
        )
        assert r.status_code == 422
        assert "不能大于" in r.text
