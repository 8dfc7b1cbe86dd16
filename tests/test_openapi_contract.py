"""The API does what its OpenAPI document says, checked by schemathesis (property-based tests
generated from ``/api/v1/openapi.json``) against a real ``shulian serve`` over a demo-like library:
once anonymous, once with a staff member's bearer token.

Checks: no 5xx; every status, media type, header and body as documented; 405 with an ``Allow``
header that lists the path's methods for methods the document does not declare. Bounded: a fixed
number of examples per operation, a fixed seed, no shrinking, no stateful phase. A failure prints
schemathesis's report with a ``curl`` line to reproduce each problem.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from importlib import resources
from pathlib import Path

import httpx
import pytest

from shulian import demo
from shulian.catalog import importer
from shulian.core.clock import utcnow
from shulian.core.db import make_engine, make_sessionmaker, session_scope
from shulian.demo import catalog as demo_catalog, circulation as demo_circulation
from shulian.migrations import upgrade
from tests.conftest import fresh_database
from tests.servers import free_port, http_ready, running, server_env, shulian_command

pytestmark = pytest.mark.slow

CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_headers_conformance,response_schema_conformance,unsupported_method,"
    "allow_header_conformance"
)
EXAMPLES_PER_OPERATION = 5
SEED = 20261121
RECORDS = 40  # the first records of the demo's Chinese file, with its copies and shelves


def _load_library(url: str) -> None:
    """The demo network, staff and readers, a slice of the demo catalogue, and the demo's
    loans, holds, transits and fines on it (as ``shulian demo`` makes them)."""
    engine = make_engine(url)
    try:
        upgrade(engine)
        factory = make_sessionmaker(engine)
        # A day ago, so the loans the demo backdates are all in the past of the server's clock.
        now = utcnow() - timedelta(days=1)
        with session_scope(factory) as session:
            demo.load(session, now=now)
        data = resources.files("shulian.demo").joinpath("data", demo_catalog.FILES[0])
        with resources.as_file(data) as path:
            importer.import_file(
                factory,
                path,
                actor=demo_catalog.ACTOR,
                clock=lambda: now,
                publish=True,
                branch="CEN",
                transform=demo_catalog._dress(1),
                batch_size=RECORDS,
                max_batches=1,
            )
        with session_scope(factory) as session:
            assert demo_circulation.load(session, now=now) > 0
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, str]]:
    """The server, its folder, and a staff token taken first (the anonymous run's random
    logins soon have this address paused, as the login limits mean to)."""
    folder = tmp_path_factory.mktemp("contract")
    with fresh_database(folder, name="contract") as url:
        _load_library(url)
        port, log = free_port(), folder / "server.log"
        base = f"http://127.0.0.1:{port}"
        env = {
            "SHULIAN_DATABASE_URL": url,
            "SHULIAN_DATA_DIR": str(folder / "var"),
            "SHULIAN_CIRCULATION_WORKER": "false",
            "SHULIAN_NOTIFY_WORKER": "false",
        }
        with running(
            shulian_command("serve", "--port", str(port)),
            ready=lambda _p: http_ready(base),
            log=log,
            env=server_env(env),
            timeout=90,
        ):
            login = {"kind": "staff", "account": "admin", "password": demo.DEMO_STAFF_PASSWORD}
            r = httpx.post(f"{base}/api/v1/auth/token", json=login, timeout=30)
            assert r.status_code == 200, r.text
            yield base, folder, str(r.json()["access_token"])


def _schemathesis(base: str, folder: Path, *headers: str) -> None:
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{base}/api/v1/openapi.json",
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--no-shrink",
        "--generation-database",
        "none",
        "--request-timeout",
        "30",
        "--no-color",
    ]
    for header in headers:
        command += ["--header", header]
    done = subprocess.run(
        command, cwd=folder, capture_output=True, text=True, timeout=900, check=False
    )
    report = done.stdout + done.stderr
    (folder / f"schemathesis-{len(headers)}.txt").write_text(report)
    # The failures first (each with a curl line); the long warnings after them are cut.
    start, end = report.find("= FAILURES ="), report.find("= WARNINGS =")
    shown = report[start:end] if 0 <= start < end else report
    assert done.returncode == 0, shown[:30_000]
    assert "Tested: " in report


def test_anonymous_callers_get_what_the_document_promises(
    served: tuple[str, Path, str],
) -> None:
    base, folder, _token = served
    _schemathesis(base, folder)
    assert "Traceback" not in (folder / "server.log").read_text()


def test_staff_get_what_the_document_promises(served: tuple[str, Path, str]) -> None:
    base, folder, token = served
    _schemathesis(base, folder, f"Authorization: Bearer {token}")
    assert "Traceback" not in (folder / "server.log").read_text()
