"""What the application answers when something fails that no rule foresaw (a database error, a
bug): a clean 500 in the caller's language, JSON under ``/api`` and the error page elsewhere,
logged with a traceback and a reference but without the reader's data, and on a real server the
connection stays open for the next request. Also the shape of every error against the OpenAPI
document, and the ``Allow`` header of a 405."""

from __future__ import annotations

import http.client
import json
import logging
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from shulian.core.db import make_engine, make_sessionmaker, session_scope
from tests.factories.accounts import PASSWORD, bearer, make_staff
from tests.factories.catalog import make_record
from tests.factories.consortium import make_network
from tests.servers import free_port, http_ready, running, server_env, shulian_command

NAME, PHONE = "钱多多", "13912345678"
READER = {
    "card_number": "R9001",
    "name": NAME,
    "phone": PHONE,
    "home_branch": "CEN",
    "expires_on": date(2028, 1, 1).isoformat(),
}
REFERENCE = re.compile(r"reference ([0-9a-f]{8})")


def refuse_one_reader(conn: Connection) -> None:
    """Make the database itself refuse the reader ``NAME`` with an error that quotes the row, as
    PostgreSQL's check violations do ("Failing row contains ..."), on either database."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            text(f"ALTER TABLE readers ADD CONSTRAINT refuse_one CHECK (name <> '{NAME}')")
        )
    else:
        conn.execute(
            text(
                f"CREATE TRIGGER refuse_one BEFORE INSERT ON readers WHEN NEW.name = '{NAME}' "
                f"BEGIN SELECT RAISE(ABORT, 'refused {NAME} {PHONE}'); END"
            )
        )


@pytest.fixture
def boss(session: Session, client: TestClient) -> dict[str, str]:
    make_network(session)
    make_staff(session, roles=["admin"], username="boss", branch="CEN")
    return bearer(client, "staff", "boss")


class TestUnexpectedErrors:
    def test_a_database_error_is_a_clean_json_500_logged_without_the_readers_data(
        self,
        connection: Connection,
        client: TestClient,
        boss: dict[str, str],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        refuse_one_reader(connection)
        with caplog.at_level(logging.ERROR, logger="shulian.errors"):
            r = client.post("/api/v1/readers", json=READER, headers=boss)
        assert r.status_code == 500
        assert r.headers["content-type"] == "application/json"
        body = r.json()
        assert set(body) == {"error", "detail", "message"} and body["error"] == "InternalError"
        reference = REFERENCE.search(body["detail"])
        assert reference is not None
        assert "服务器出现意外错误" in body["message"] and reference.group(1) in body["message"]
        (logged,) = [rec for rec in caplog.records if rec.name == "shulian.errors"]
        shown = logged.getMessage()
        assert f"in POST /api/v1/readers (reference {reference.group(1)})" in shown
        assert "Traceback" in shown and "IntegrityError" in shown and "INSERT INTO readers" in shown
        assert NAME not in shown and PHONE not in shown and logged.exc_info is None
        # The request's transaction was rolled back, and the next one works.
        assert client.get("/api/v1/readers", headers=boss).status_code == 200

    def test_a_page_that_fails_shows_the_error_page_in_the_readers_language(
        self, session: Session, connection: Connection, client: TestClient
    ) -> None:
        make_network(session)
        make_record(session, publish=True)
        connection.execute(text("ALTER TABLE records RENAME TO records_away"))
        r = client.get("/")
        assert r.status_code == 500 and r.headers["content-type"].startswith("text/html")
        assert re.search(r"服务器出现意外错误，已记录（编号 [0-9a-f]{8}）", r.text)
        client.get("/lang/en")
        r = client.get("/")
        assert r.status_code == 500 and "Something went wrong on our side" in r.text


class TestErrorShape:
    def test_every_operation_documents_its_errors_with_the_shape_they_have(
        self, app: FastAPI
    ) -> None:
        doc = app.openapi()
        shape = doc["components"]["schemas"]["ErrorRead"]
        assert set(shape["required"]) == {"error", "detail", "message"}
        assert "HTTPValidationError" not in doc["components"]["schemas"]
        operations = [op for ops in doc["paths"].values() for op in ops.values()]
        assert len(operations) > 80
        for op in operations:
            for status in ("400", "401", "403", "404", "409", "422", "429", "500"):
                schema = op["responses"][status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorRead"}, (op, status)

    def test_a_validation_error_has_the_documented_shape(
        self, client: TestClient, boss: dict[str, str]
    ) -> None:
        r = client.get("/api/v1/readers", params={"page": "x", "size": 0}, headers=boss)
        assert r.status_code == 422
        assert r.json() == {
            "error": "ValidationError",
            "detail": "page: Input should be a valid integer, unable to parse string as an "
            "integer; size: Input should be greater than or equal to 1",
            "message": "page: 请输入整数; size: 不能小于 1",
        }
        client.cookies.set("shulian_lang", "en")
        english = client.get("/api/v1/readers", params={"size": 0}, headers=boss)
        assert english.json()["message"] == "size: At least 1"

    def test_a_method_not_allowed_says_which_are(self, client: TestClient) -> None:
        r = client.delete("/api/v1/ledger/checkpoint")
        assert r.status_code == 405 and r.headers["allow"] == "GET"
        assert r.json()["error"] == "HTTPError" and r.json()["message"] == "不支持此请求方法"
        page = client.delete("/branches")
        assert page.status_code == 405 and page.headers["allow"] == "GET"


# -- a real server ----------------------------------------------------------------------------


@pytest.fixture
def served(scratch_db_url: str, tmp_path: Path) -> Iterator[tuple[int, Path]]:
    engine = make_engine(scratch_db_url)
    with session_scope(make_sessionmaker(engine)) as s:
        make_network(s)
        make_staff(s, roles=["admin"], username="boss", branch="CEN")
    with engine.begin() as conn:
        refuse_one_reader(conn)
    engine.dispose()
    port, log = free_port(), tmp_path / "server.log"
    env = {
        "SHULIAN_DATABASE_URL": scratch_db_url,
        "SHULIAN_DATA_DIR": str(tmp_path / "var"),
        "SHULIAN_LEDGER_WORKER": "false",
        "SHULIAN_SEARCH_WORKER": "false",
        "SHULIAN_CIRCULATION_WORKER": "false",
    }
    with running(
        shulian_command("serve", "--port", str(port)),
        ready=lambda _p: http_ready(f"http://127.0.0.1:{port}"),
        log=log,
        env=server_env(env),
    ):
        yield port, log


def _call(
    conn: http.client.HTTPConnection, method: str, path: str, body: object = None, **headers: str
) -> tuple[int, bytes]:
    data = json.dumps(body) if body is not None else None
    if data is not None:
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


@pytest.mark.slow
def test_after_an_unexpected_error_the_server_keeps_the_connection(
    served: tuple[int, Path],
) -> None:
    port, log = served
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        login = {"kind": "staff", "account": "boss", "password": PASSWORD}
        status, token = _call(conn, "POST", "/api/v1/auth/token", login)
        assert status == 200
        auth = {"Authorization": f"Bearer {json.loads(token)['access_token']}"}
        sock = conn.sock
        status, failed = _call(conn, "POST", "/api/v1/readers", READER, **auth)
        assert status == 500
        # The same connection answers the next request: the server did not drop it.
        status, health = _call(conn, "GET", "/healthz")
        assert status == 200 and json.loads(health)["status"] == "ok"
        assert conn.sock is sock
        assert json.loads(failed)["error"] == "InternalError"
    finally:
        conn.close()
    text_logged = log.read_text()
    assert "shulian.errors Unexpected IntegrityError in POST /api/v1/readers" in text_logged
    assert "Traceback" in text_logged
    assert NAME not in text_logged and PHONE not in text_logged


class TestNulInText:
    """PostgreSQL's text cannot hold the NUL character (SQLite's can): a request carrying one
    is bad input, answered 422 in the caller's language, never a 500."""

    def test_a_search_or_a_login_with_nul_is_refused_as_bad_input(
        self, client: TestClient, boss: dict[str, str], connection: Connection
    ) -> None:
        search = client.get("/api/v1/readers", params={"q": "张\x00三"}, headers=boss)
        login = client.post(
            "/api/v1/auth/token",
            json={"kind": "reader", "account": "R\u00000001", "password": "x" * 8},
        )
        page = client.get("/staff/readers", params={"q": "\x00"}, headers=boss)
        if connection.dialect.name == "postgresql":
            assert search.status_code == 422 and search.json()["error"] == "TextWithNul"
            assert search.json()["message"] == "文本中不能包含空字符（U+0000）"
            assert login.status_code == 422 and login.json()["error"] == "TextWithNul"
            assert page.status_code == 422 and "空字符" in page.text
        else:
            assert search.status_code == 200 and search.json()["total"] == 0
            assert login.status_code == 401
            assert page.status_code == 200
