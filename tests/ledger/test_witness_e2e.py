"""Two libraries witnessing for real: library B runs ``shulian serve`` (uvicorn, in a subprocess,
on a free port, with its own database); library A runs ``shulian ledger witness`` against it from
the command line, and sends its cosignature back over HTTP."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from shulian.cli import app as cli
from shulian.ledger.cosign import Cosigner
from shulian.ledger.note import Signer, open_checkpoint
from tests.ledger.libraries import Library
from tests.servers import free_port, http_ready, running, server_env, shulian_command

pytestmark = pytest.mark.slow


@pytest.fixture
def b_server(b: Library) -> Iterator[str]:
    """Library B's real server."""
    url = f"http://127.0.0.1:{(port := free_port())}"
    with running(
        shulian_command("serve", "--port", str(port)),
        ready=lambda _: http_ready(url),
        log=b.data_dir / "server.log",
        env=server_env(b.env()),
        cwd=b.data_dir,
        what="library B's server",
    ):
        yield url


def _run(lib: Library, *args: str) -> Result:
    result = CliRunner().invoke(cli, list(args), env=lib.env())
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def test_two_libraries_witness_each_other_over_http(
    a: Library, b: Library, b_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    b.grow(5)
    assert _run(b, "ledger", "checkpoint").exit_code == 0
    a_key = _run(a, "ledger", "witness-key").stdout.strip()
    assert a_key == a.cosigner.key.vkey
    trusted = _run(b, "ledger", "trust-witness", a_key)
    assert trusted.exit_code == 0 and "now accepted" in trusted.output

    # First contact: trust on first use, said loudly, with the key.
    first = _run(a, "ledger", "witness", b_server)
    assert first.exit_code == 0, first.output
    assert "first contact" in first.output and b.signer.verifier.vkey in first.output
    assert f"Cosigned {b.origin} at size 5" in first.output
    (held,) = httpx.get(f"{b_server}/api/v1/ledger/cosignatures").json()
    assert (held["witness"], held["origin"], held["tree_size"]) == (a.cosigner.name, b.origin, 5)
    assert a.cosigner.name in _run(b, "ledger", "witnesses").output
    peers = _run(a, "ledger", "peers")
    assert peers.exit_code == 0 and b.origin in peers.output

    # The log grows: the next checkpoint is checked with a consistency proof.
    b.grow(7)
    assert _run(b, "ledger", "checkpoint").exit_code == 0
    grown = _run(a, "ledger", "witness", b_server)
    assert grown.exit_code == 0, grown.output
    assert "at size 12" in grown.output and "consistent with size 5" in grown.output
    served = httpx.get(f"{b_server}/api/v1/ledger/checkpoint").text
    assert open_checkpoint(served, b.signer.verifier).size == 12
    assert a.cosigner.key.verify(served).witness == a.cosigner.name

    # A forged cosignature POSTed to B: refused with the reason, nothing stored.
    head, line = served.rsplit("\u2014 ", 1)
    name, data = line.split(" ")
    raw = bytearray(base64.b64decode(data))
    raw[30] ^= 1
    forged = f"{head}\u2014 {name} {base64.b64encode(bytes(raw)).decode()}\n"
    r = httpx.post(
        f"{b_server}/api/v1/ledger/cosignatures",
        content=forged.encode(),
        headers={"Content-Type": "text/plain"},
    )
    assert r.status_code == 403 and "does not verify" in r.json()["detail"]
    assert len(httpx.get(f"{b_server}/api/v1/ledger/cosignatures").json()) == 2

    # A wrong key.
    other = Signer.generate(b.origin).verifier.vkey
    wrong = _run(a, "ledger", "witness", b_server, "--key", other)
    assert wrong.exit_code == 1 and "wrong key" in wrong.output

    # A rollback: B serves its older checkpoint again.
    b.drop_latest_checkpoint()
    rollback = _run(a, "ledger", "witness", b_server)
    assert rollback.exit_code == 1 and "rollback" in rollback.output
    assert _run(b, "ledger", "checkpoint").exit_code == 0  # the same tree signed again

    # B's operator rewrites history: the same size with another root.
    b.rewrite_history()
    split = _run(a, "ledger", "witness", b_server)
    assert split.exit_code == 3, split.output
    assert "SPLIT VIEW" in split.output and "two checkpoints of size 12" in split.output
    peers = _run(a, "ledger", "peers")
    assert peers.exit_code == 3 and "Split views" in peers.output
    assert len(httpx.get(f"{b_server}/api/v1/ledger/cosignatures").json()) == 2


def test_unreachable_or_malformed_addresses_are_refused_cleanly(
    a: Library, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    down = _run(a, "ledger", "witness", f"http://127.0.0.1:{free_port()}")
    assert down.exit_code == 1 and "could not connect" in down.output
    bad = _run(a, "ledger", "witness", "ftp://library.example")
    assert bad.exit_code == 2 and "is not a library's address" in bad.output


def test_trusting_and_untrusting_a_witness_from_the_command_line(
    b: Library, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    key = Cosigner.generate("c.example/witness").key.vkey
    assert _run(b, "ledger", "trust-witness", key).exit_code == 0
    assert _run(b, "ledger", "trust-witness", key).exit_code == 0  # the same key again: fine
    clash = _run(b, "ledger", "trust-witness", Cosigner.generate("c.example/witness").key.vkey)
    assert clash.exit_code == 1 and "already trusted with another key" in clash.output
    log_key = _run(b, "ledger", "trust-witness", b.signer.verifier.vkey)
    assert log_key.exit_code == 1 and "not a witness key" in log_key.output
    assert _run(b, "ledger", "untrust-witness", "c.example/witness").exit_code == 0
    again = _run(b, "ledger", "untrust-witness", "c.example/witness")
    assert again.exit_code == 1 and "Not a trusted witness" in again.output
