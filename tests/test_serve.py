"""``shulian serve --workers 2``: two real uvicorn worker processes over one database (on SQLite,
one file and one search index), each with its background workers. Cataloguers write through
both at once; every record is searchable from both; the ledger they append to verifies."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from shulian.cli import app as cli
from shulian.core.db import make_engine, make_sessionmaker, session_scope
from tests.factories.accounts import PASSWORD, make_staff
from tests.factories.consortium import make_network
from tests.servers import free_port, http_ready, running, server_env, shulian_command

pytestmark = pytest.mark.slow

RECORDS = 12


def _children(pid: int) -> list[int]:
    """The worker processes uvicorn started for ``pid``."""
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                cmdline = (entry / "cmdline").read_bytes()
                if b"resource_tracker" not in cmdline:  # multiprocessing's helper
                    kids.append(int(entry.name))
    return kids


@pytest.fixture
def library(scratch_db_url: str, tmp_path: Path) -> dict[str, str]:
    engine = make_engine(scratch_db_url)
    with session_scope(make_sessionmaker(engine)) as s:
        make_network(s)
        make_staff(s, roles=["cataloguer"], username="cat")
        make_staff(s, roles=["reviewer", "publisher"], username="rev")
    engine.dispose()
    return {
        "SHULIAN_DATABASE_URL": scratch_db_url,
        "SHULIAN_DATA_DIR": str(tmp_path / "var"),
        "SHULIAN_SECRET_KEY": "test-secret-key-for-two-workers-0123456789",
    }


@pytest.fixture
def two_workers(library: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, int, Path]]:
    url = f"http://127.0.0.1:{(port := free_port())}"
    log_path = tmp_path / "server.log"

    def both_ready(proc: subprocess.Popen[bytes]) -> bool:
        return len(_children(proc.pid)) >= 2 and http_ready(url)

    with running(
        shulian_command("serve", "--port", str(port), "--workers", "2"),
        ready=both_ready,
        log=log_path,
        env=server_env(library),
        timeout=240,  # two processes loading the analysers on a busy 2-core machine
        what="serve --workers 2",
    ) as proc:
        yield url, proc.pid, log_path
    log_text = log_path.read_text()
    assert "Traceback" not in log_text, log_text


def _token(url: str, account: str) -> str:
    r = httpx.post(
        f"{url}/api/v1/auth/token",
        json={"kind": "staff", "account": account, "password": PASSWORD},
        timeout=30,
    )
    return str(r.json()["access_token"])


def _catalogue(url: str, tokens: dict[str, str], n: int) -> int:
    """Enter, review and publish one record on fresh connections (either worker may answer)."""
    body = {
        "title": f"双进程测试之书第{n}册",
        "contributors": [{"name": "测试作者", "role": "author"}],
        "year": 2000 + n,
        "language": "chi",
    }
    r = httpx.post(f"{url}/api/v1/catalog/records", json=body, headers=tokens["cat"], timeout=30)
    assert r.status_code == 201, r.text
    record_id = int(r.json()["id"])
    for step, who in (("submit", "cat"), ("approve", "rev"), ("publish", "rev")):
        r = httpx.post(
            f"{url}/api/v1/catalog/records/{record_id}/{step}",
            json={"comment": "通过"},
            headers=tokens[who],
            timeout=30,
        )
        assert r.status_code == 200, r.text
    return record_id


def test_two_workers_write_one_library_and_both_search_it(
    two_workers: tuple[str, int, Path], library: dict[str, str]
) -> None:
    url, pid, log_path = two_workers
    workers = _children(pid)
    assert len(workers) == 2
    tokens = {a: {"Authorization": f"Bearer {_token(url, a)}"} for a in ("cat", "rev")}

    with ThreadPoolExecutor(6) as pool:
        ids = set(pool.map(lambda n: _catalogue(url, tokens, n), range(RECORDS)))
    assert len(ids) == RECORDS

    # Within seconds, a search answered by either worker (new connections land on both)
    # finds every record, with its result line.
    deadline = time.monotonic() + 20
    while True:
        found = [
            httpx.get(f"{url}/api/v1/search", params={"q": "双进程测试", "per_page": 50}).json()
            for _ in range(8)
        ]
        if all({h["record_id"] for h in page["hits"]} == ids for page in found):
            break
        assert time.monotonic() < deadline, [page["total"] for page in found]
        time.sleep(0.5)
    assert {h["year"] for h in found[0]["hits"]} == {2000 + n for n in range(RECORDS)}
    assert sorted(_children(pid)) == sorted(workers)  # no worker died on the way
    answered = {
        int(line.split("[", 1)[1].split("]", 1)[0])
        for line in log_path.read_text().splitlines()
        if "shulian.access " in line
    }
    assert answered == set(workers)  # each has its socket: the kernel spread the connections

    # Both workers' ledger appenders took the events in turn: the log verifies against the
    # tables, every event once.
    deadline = time.monotonic() + 20
    while True:
        result = CliRunner().invoke(cli, ["ledger", "verify"], env=library)
        if result.exit_code == 0 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert result.exit_code == 0, result.output
    assert "Ledger verified" in result.output


def test_a_worker_that_dies_is_replaced(two_workers: tuple[str, int, Path]) -> None:
    url, pid, _log = two_workers
    first, second = _children(pid)
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while True:
        now = _children(pid)
        if len(now) == 2 and first not in now and all(http_ready(url) for _ in range(6)):
            break
        assert time.monotonic() < deadline, now
        time.sleep(0.3)
    assert second in now


def test_a_port_in_use_stops_the_server_with_an_error(
    library: dict[str, str], tmp_path: Path
) -> None:
    env = server_env(library)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            shulian_command("serve", "--port", str(port), "--workers", "2"),
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 1
    assert "failed to start" in done.stderr
