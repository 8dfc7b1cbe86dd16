"""Every route declares who may call it, and each declaration is enforced.

A new route that is neither listed as public here nor guarded (``require``, ``CurrentReader``,
``StaffUser``, ``CurrentPrincipal``) fails ``test_every_route_is_guarded_or_known_public``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from shulian.accounts.permissions import PERMISSIONS
from shulian.core import deps
from tests.factories.accounts import bearer, make_reader, make_staff
from tests.factories.consortium import make_network

PUBLIC = {
    ("GET", "/"),
    ("GET", "/healthz"),
    ("GET", "/docs"),
    ("GET", "/branches"),
    ("GET", "/branches/{code}"),
    ("GET", "/lang/{code}"),
    # The catalogue for readers: published records only (staff also see unpublished ones).
    ("GET", "/search"),
    ("GET", "/search/suggest"),
    ("GET", "/records/{record_id}"),
    ("GET", "/clc"),
    ("GET", "/clc/{code}"),
    ("GET", "/scan"),
    ("GET", "/scan/{code}"),
    # The catalogue and search APIs readers use (published records only; searches rate-limited).
    ("GET", "/api/v1/catalog/records/{record_id}"),
    ("GET", "/api/v1/catalog/scan/{code}"),
    ("GET", "/api/v1/catalog/digital/{resource_id}/file"),
    ("GET", "/api/v1/catalog/clc"),
    ("GET", "/api/v1/catalog/clc/{code}"),
    ("GET", "/api/v1/search"),
    ("GET", "/api/v1/search/suggest"),
    ("GET", "/api/v1/search/hot"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("POST", "/api/v1/auth/token"),
    ("GET", "/api/v1/branches"),
    ("GET", "/api/v1/branches/tree"),
    ("GET", "/api/v1/branches/{code}"),
    ("GET", "/api/v1/branches/{code}/calendar"),
    ("GET", "/api/v1/reader-categories"),
    ("GET", "/api/v1/openapi.json"),
    # The ledger is public by design: leaves carry pseudonyms, and anyone may verify.
    ("GET", "/api/v1/ledger/key"),
    ("GET", "/api/v1/ledger/checkpoint"),
    ("GET", "/api/v1/ledger/checkpoints"),
    ("GET", "/api/v1/ledger/leaves/{index}"),
    ("GET", "/api/v1/ledger/proof/inclusion"),
    ("GET", "/api/v1/ledger/proof/consistency"),
    ("GET", "/api/v1/ledger/events/{seq}/receipt"),
    ("GET", "/api/v1/ledger/witness-key"),
    ("GET", "/api/v1/ledger/cosignatures"),
    ("GET", "/api/v1/ledger/witnesses"),
    ("GET", "/api/v1/ledger/witnessed"),
    ("GET", "/api/v1/ledger/split-views"),
    # A witness's cosignature: its signatures are its credentials (a trusted witness key over
    # one of our own signed checkpoints); anything else is refused and nothing is stored.
    ("POST", "/api/v1/ledger/cosignatures"),
    ("POST", "/api/v1/ledger/verify"),
    ("GET", "/ledger/verify"),
}

Guard = tuple[
    str, str | None
]  # ("permission", name) | ("reader", None) | ("staff", None) | ("login", None)


def _guards(dependant: Any) -> Iterator[Guard]:
    for dep in dependant.dependencies:
        call = dep.call
        if getattr(call, "shulian_permission", None):
            yield ("permission", call.shulian_permission)
        elif call is deps.get_reader_principal:
            yield ("reader", None)
        elif call is deps.get_staff_principal:
            yield ("staff", None)
        elif call is deps.get_principal:
            yield ("login", None)
        yield from _guards(dep)


def _api_routes(routes_: list[Any]) -> Iterator[APIRoute]:
    for route in routes_:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # FastAPI's wrapper of an included router
            yield from _api_routes(route.original_router.routes)


def routes(app: FastAPI) -> list[tuple[str, str, list[Guard]]]:
    out = []
    for route in _api_routes(app.routes):
        for method in sorted(route.methods):
            out.append((method, route.path, list(_guards(route.dependant))))
    if ("GET", "/api/v1/openapi.json") not in {(m, p) for m, p, _ in out}:
        out.append(("GET", "/api/v1/openapi.json", []))
    return out


def _url(path: str) -> str:
    samples = {"code": "CEN", "reader_id": "1", "day": "2027-01-01", "index": "0", "seq": "1"}
    # A parameter may carry a convertor ("{reader_id:int}").
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: samples.get(m.group(1), "1"), path)


def _strongest(guards: list[Guard]) -> Guard | None:
    for kind in ("permission", "reader", "staff", "login"):
        for g in guards:
            if g[0] == kind:
                return g
    return None


def test_every_route_is_guarded_or_known_public(app: FastAPI) -> None:
    unguarded = {(m, p) for m, p, g in routes(app) if not g}
    assert unguarded - PUBLIC == set(), "routes without a declared guard"
    assert PUBLIC - {(m, p) for m, p, _ in routes(app)} == set(), "stale PUBLIC entries"


def test_every_required_permission_exists(app: FastAPI) -> None:
    for _m, _p, guards in routes(app):
        for kind, name in guards:
            if kind == "permission":
                assert name in PERMISSIONS


@pytest.fixture
def principals(session: Session, client: TestClient) -> dict[str, dict[str, str]]:
    make_network(session)
    make_staff(session, roles=[], username="noroles")
    make_reader(session, card="PERM1")
    return {
        "staff": bearer(client, "staff", "noroles"),
        "reader": bearer(client, "reader", "PERM1"),
    }


def test_guards_are_enforced(
    app: FastAPI, client: TestClient, principals: dict[str, dict[str, str]]
) -> None:
    checked = 0
    for method, path, guards in routes(app):
        guard = _strongest(guards)
        if guard is None:
            continue
        url = _url(path)
        api = path.startswith("/api/")
        anon = client.request(method, url, follow_redirects=False)
        if api:
            assert anon.status_code == 401, (method, path, anon.text)
            assert anon.json()["error"] == "NotAuthenticated"
        else:
            assert anon.status_code == 303, (method, path)
            assert anon.headers["location"].startswith("/login?next=")
        kind, name = guard
        if kind == "permission":
            r = client.request(method, url, headers=principals["staff"])
            assert r.status_code == 403, (method, path, r.text)
            if api:
                body = r.json()
                assert (body["error"], body["detail"]) == (
                    "PermissionDenied",
                    f"Missing permission: {name}",
                )
                assert name is not None and name in body["message"]  # in the caller's language
            else:
                assert name is not None and name in r.text
            r = client.request(method, url, headers=principals["reader"])
            assert r.status_code == 403, (method, path)
        elif kind == "reader":
            r = client.request(method, url, headers=principals["staff"])
            assert r.status_code == 403, (method, path)
        elif kind == "staff":
            r = client.request(method, url, headers=principals["reader"])
            assert r.status_code == 403, (method, path)
        checked += 1
    assert checked >= 15
