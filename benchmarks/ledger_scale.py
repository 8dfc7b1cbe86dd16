"""The ledger at 10,000,000 events (issue 5): inclusion-proof latency, a full ``ledger verify``
and the bytes stored per event.

    .venv/bin/python benchmarks/ledger_scale.py --work DIR [--events 10000000] [--readers 20000]
    .venv/bin/python benchmarks/ledger_scale.py --work DIR --measure-only   # reuse a built DIR

Building: ``shulian demo`` (real records, copies, readers, loans) into DIR, then years of
lending on top of it: readers registered and copies lent and returned, each loan a checkout and a
checkin event shaped exactly as the circulation service writes them (terms, state digests of the
loan and the copy), with the matching ``loans`` rows, until the spine holds ``--events`` events.
Every event goes into the ledger through ``ledger.service.append_events`` (the appender's own
code), and a checkpoint is signed every ``--checkpoint-every`` leaves. Rows are bulk-inserted:
lending ten million times through the desk would take days.

Measuring:
1. inclusion proofs for random leaves against the latest checkpoint, in-process (the service
   function the API calls), p50 / p95 / p99 over ``--proofs`` requests, and over HTTP from a real
   ``shulian serve`` with one client;
2. ``shulian ledger verify`` as an operator runs it, wall time: the tree recomputed from every
   leaf, every leaf re-derived from its event, every checkpoint checked, and the events replayed
   against every records / items / readers / loans / holds / fines row;
3. bytes per event: the events table and the ledger's tables (leaves, nodes, checkpoints) with
   their indexes, from SQLite's dbstat.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
from rich.progress import Progress
from sqlalchemy import func, insert, select, text, update

from shulian.accounts import service as accounts_service
from shulian.accounts.models import Reader, ReaderStatus
from shulian.catalog import service as catalog_service
from shulian.catalog.models import Item, ItemStatus
from shulian.circulation.models import Loan
from shulian.circulation.service.common import loan_state
from shulian.core.db import make_engine, make_sessionmaker, session_scope
from shulian.core.events import ConsumerOffset, Event
from shulian.ledger import leaf as leaf_codec
from shulian.ledger import service as ledger_service
from shulian.ledger.note import load_or_create_signer

START = datetime(2023, 9, 1, 1, 0, tzinfo=UTC)
SHELL = Path(__file__).resolve().parent.parent / ".venv" / "bin"


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))] * 1000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def shulian(env: dict[str, str], *args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SHELL / "shulian"), *args], env=env, text=True, capture_output=True, check=True, **kw
    )


def build(
    work: Path, env: dict[str, str], *, events: int, readers: int, every: int, resume: bool
) -> None:
    if not resume:
        shulian(env, "demo")
        shulian(env, "ledger", "checkpoint")
    engine = make_engine(env["SHULIAN_DATABASE_URL"])
    factory = make_sessionmaker(engine)
    settings_secret = (work / "var" / "secret_key").read_text().strip()
    pseudonyms = leaf_codec.Pseudonymizer(settings_secret)
    signer = load_or_create_signer(work / "var" / "ledger", "shulian.local/ledger")
    with session_scope(factory) as s:
        seq = s.scalar(select(func.max(Event.seq))) or 0
        reader_id = s.scalar(select(func.max(Reader.id))) or 0
        loan_id = s.scalar(select(func.max(Loan.id))) or 0
        template = s.scalars(select(Reader).order_by(Reader.id)).first()
        existing = list(s.scalars(select(Reader.id).where(Reader.card_number.like("B%"))))
        assert template is not None
        busy = set(s.scalars(select(Loan.item_id).where(Loan.returned_at.is_(None))))
        items = [
            SimpleNamespace(**{c: getattr(i, c) for c in Item.__table__.columns.keys()})  # noqa: SIM118
            for i in s.scalars(select(Item).where(Item.status == ItemStatus.AVAILABLE))
            if i.id not in busy
        ]
        terms = s.scalars(select(Loan.terms).limit(1)).one()
        category, home = template.category_code, template.home_branch_id
        done = s.scalar(select(func.count()).select_from(Event)) or 0
    for it in items:
        it.status = ItemStatus.ON_LOAN
        it.out_state = catalog_service.item_state(it)  # type: ignore[arg-type]
        it.status = ItemStatus.AVAILABLE
        it.in_state = catalog_service.item_state(it)  # type: ignore[arg-type]
    rng = random.Random(7)
    leaves = 0
    with Progress() as bar:
        task = bar.add_task("Building the spine and the ledger", total=events, completed=done)
        # Readers first (registrations are events too), then lending until ``events``.
        new_readers = []
        for _ in range(readers):
            reader_id += 1
            new_readers.append(reader_id)
        batch_events: list[dict[str, Any]] = []
        reader_rows = []
        at = START
        for rid in new_readers:
            seq += 1
            row = {
                "id": rid, "card_number": f"B{rid:08d}", "name": f"读者{rid}",
                "category_code": category, "phone": f"139{rid:08d}", "email": "",
                "home_branch_id": home, "status": ReaderStatus.ACTIVE,
                "expires_on": (START + timedelta(days=1500)).date(), "password_hash": None,
                "auth_version": 1, "points": 0, "created_at": at,
            }  # fmt: skip
            reader_rows.append(row)
            state = accounts_service.reader_state(SimpleNamespace(**row))  # type: ignore[arg-type]
            batch_events.append({
                "seq": seq, "type": "accounts.reader_registered", "occurred_at": at,
                "actor": "staff:1", "branch": "CEN", "subject": f"reader:{rid}",
                "payload": {"category": category, "expires_on": row["expires_on"].isoformat(),
                            "states": {f"reader:{rid}": state}},
            })  # fmt: skip
        leaves += flush(factory, pseudonyms, batch_events, reader_rows, Reader, signer, every)
        bar.update(task, advance=len(batch_events))
        batch_events, loan_rows = [], []
        all_readers = list(new_readers) or existing  # on --resume: those registered before
        span = 3 * 365 * 24 * 3600 / max(1, (events - done - readers) // 2)
        n = 0
        while done + readers + n < events:
            it = items[(n // 2) % len(items)]
            loan_id += 1
            reader = all_readers[rng.randrange(len(all_readers))]
            out = START + timedelta(seconds=span * n)
            back = out + timedelta(days=rng.randint(1, 40))
            due = out + timedelta(days=30)
            loan = {
                "id": loan_id, "item_id": it.id, "record_id": it.record_id,
                "reader_id": reader, "branch_code": it.branch_code, "item_type": it.item_type,
                "rule_id": terms.get("rule_id"), "terms": terms, "out_at": out, "due_at": due,
                "renewals": 0, "returned_at": None, "return_branch": it.branch_code,
                "event_seq": seq + 1, "version": 2,
            }  # fmt: skip
            out_state = loan_state(SimpleNamespace(**loan))  # type: ignore[arg-type]
            loan["returned_at"] = back
            in_state = loan_state(SimpleNamespace(**loan))  # type: ignore[arg-type]
            loan_rows.append(loan)
            seq += 1
            batch_events.append({
                "seq": seq, "type": "circulation.loan.checked_out", "occurred_at": out,
                "actor": "staff:5", "branch": it.branch_code, "subject": f"loan:{loan_id}",
                "payload": {"loan": loan_id, "item": it.id, "record": it.record_id,
                            "reader": f"reader:{reader}", "due": due.isoformat(), "terms": terms,
                            "states": {f"loan:{loan_id}": out_state, f"item:{it.id}": it.out_state}},
            })  # fmt: skip
            seq += 1
            batch_events.append({
                "seq": seq, "type": "circulation.item.checked_in", "occurred_at": back,
                "actor": "staff:5", "branch": it.branch_code, "subject": f"item:{it.id}",
                "payload": {"item": it.id, "record": it.record_id, "loan": loan_id,
                            "reader": f"reader:{reader}", "transit": None, "destination": "shelf",
                            "to": None, "hold": None, "fine": 0,
                            "states": {f"loan:{loan_id}": in_state, f"item:{it.id}": it.in_state}},
            })  # fmt: skip
            n += 2
            if len(batch_events) >= 40_000:
                leaves += flush(factory, pseudonyms, batch_events, loan_rows, Loan, signer, every)
                bar.update(task, advance=len(batch_events))
                batch_events, loan_rows = [], []
        leaves += flush(factory, pseudonyms, batch_events, loan_rows, Loan, signer, every)
        bar.update(task, advance=len(batch_events))
    with session_scope(factory) as s:
        ledger_service.issue_checkpoint(s, signer=signer, now=datetime.now(UTC))
    engine.dispose()
    (work / "built").write_text(json.dumps({"events": events, "readers": readers}))


def flush(factory, pseudonyms, evs, rows, model, signer, every) -> int:  # type: ignore[no-untyped-def]
    if not evs:
        return 0
    with session_scope(factory) as s:
        s.execute(insert(Event.__table__), evs)
        if rows:
            s.execute(insert(model.__table__), rows)
        size = ledger_service.tree_size(s)
        # Append in checkpoint-sized steps, signing at each boundary, as the worker would.
        i = 0
        while i < len(evs):
            step = every - (size % every)
            part = evs[i : i + step]
            ledger_service.append_events(s, [Event(**e) for e in part], pseudonyms)
            size += len(part)
            i += len(part)
            if size % every == 0:
                ledger_service.issue_checkpoint(s, signer=signer, now=datetime.now(UTC))
        s.execute(
            update(ConsumerOffset)
            .where(ConsumerOffset.consumer == ledger_service.CONSUMER)
            .values(last_seq=evs[-1]["seq"])
        )
    return len(evs)


def measure(work: Path, env: dict[str, str], *, proofs: int, verify: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {}
    engine = make_engine(env["SHULIAN_DATABASE_URL"])
    factory = make_sessionmaker(engine, readonly=True)
    with session_scope(factory) as s:
        size = ledger_service.tree_size(s)
        cp = ledger_service.latest_checkpoint(s)
        assert cp is not None
        out["leaves"] = size
        out["events"] = s.scalar(select(func.count()).select_from(Event))
        out["checkpoints"] = s.scalar(text("SELECT count(*) FROM ledger_checkpoints"))
        out["loans"] = s.scalar(select(func.count()).select_from(Loan))
    rng = random.Random(11)
    times = []
    for _ in range(proofs):
        index = rng.randrange(cp.tree_size)
        t0 = time.perf_counter()
        with session_scope(factory) as s:
            ledger_service.inclusion_proof(s, index=index)
        times.append(time.perf_counter() - t0)
    out["proof_in_process_ms"] = {
        "p50": pct(times, 50), "p95": pct(times, 95), "p99": pct(times, 99), "n": proofs,
    }  # fmt: skip
    engine.dispose()

    port = free_port()
    # The search index would start chewing through the ten million synthetic events; it has
    # nothing to do with the ledger, so it stays off here.
    server = subprocess.Popen(
        [str(SHELL / "shulian"), "serve", "--port", str(port)],
        env={**env, "SHULIAN_SEARCH_WORKER": "false"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for _ in range(300):
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            for _ in range(50):  # warm up
                client.get("/api/v1/ledger/proof/inclusion", params={"index": 1})
            times = []
            for _ in range(proofs):
                index = rng.randrange(cp.tree_size)
                t0 = time.perf_counter()
                r = client.get("/api/v1/ledger/proof/inclusion", params={"index": index})
                times.append(time.perf_counter() - t0)
                assert r.status_code == 200, r.text
        out["proof_http_ms"] = {"p50": pct(times, 50), "p95": pct(times, 95), "n": proofs}
    finally:
        server.terminate()
        server.wait(30)

    if not verify:
        return out
    t0 = time.perf_counter()
    done = subprocess.run(
        [str(SHELL / "shulian"), "ledger", "verify"], env=env, text=True, capture_output=True
    )
    out["verify_seconds"] = round(time.perf_counter() - t0, 1)
    out["verify_exit"] = done.returncode
    out["verify_said"] = (
        done.stdout.strip().splitlines()[-1:] if done.stdout else done.stderr[-500:]
    )

    db = work / "var" / "shulian.db"
    con = __import__("sqlite3").connect(db)
    try:
        sizes = dict(
            con.execute(
                "SELECT t.tbl_name, sum(d.pgsize) FROM dbstat d JOIN sqlite_master t"
                " ON t.name = d.name GROUP BY t.tbl_name"
            ).fetchall()
        )
    finally:
        con.close()
    n = out["events"]
    ledger_bytes = sum(sizes.get(t, 0) for t in ("ledger_leaves", "ledger_nodes"))
    ledger_bytes += sizes.get("ledger_checkpoints", 0)
    out["bytes_per_event"] = {
        "events_table": round(sizes.get("events", 0) / n, 1),
        "ledger_leaves": round(sizes.get("ledger_leaves", 0) / n, 1),
        "ledger_nodes": round(sizes.get("ledger_nodes", 0) / n, 1),
        "ledger_checkpoints": round(sizes.get("ledger_checkpoints", 0) / n, 2),
        "ledger_total": round(ledger_bytes / n, 1),
    }
    out["database_gb"] = round(db.stat().st_size / 1e9, 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--readers", type=int, default=20_000)
    ap.add_argument("--checkpoint-every", type=int, default=10_000)
    ap.add_argument("--proofs", type=int, default=2000)
    ap.add_argument("--measure-only", action="store_true")
    ap.add_argument("--build-only", action="store_true")
    ap.add_argument("--skip-verify", action="store_true", help="Proofs only.")
    ap.add_argument(
        "--resume",
        action="store_true",
        help="Go on building an interrupted --work (each batch "
        "of 40,000 events commits with its leaves, so a stopped build is consistent).",
    )
    args = ap.parse_args()
    work = args.work.resolve()
    env = dict(os.environ)
    env["SHULIAN_DATA_DIR"] = str(work / "var")
    env["SHULIAN_DATABASE_URL"] = f"sqlite:///{work / 'var' / 'shulian.db'}"
    env.pop("SHULIAN_SECRET_KEY", None)
    if not args.measure_only:
        if (work / "built").exists() or ((work / "var").exists() and not args.resume):
            sys.exit(f"{work} already holds a built ledger; use --measure-only or a new --work")
        work.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        build(
            work, env, events=args.events, readers=args.readers if not args.resume else 0,
            every=args.checkpoint_every, resume=args.resume,
        )  # fmt: skip
        print(f"built in {time.perf_counter() - t0:.0f} s", flush=True)
        if args.build_only:
            return
    result = measure(work, env, proofs=args.proofs, verify=not args.skip_verify)
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
