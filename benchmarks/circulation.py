"""Circulation figures (issue 4) and the ledger's cost on them (issue 5).

    .venv/bin/python benchmarks/circulation.py --work DIR [--seconds 20] [--clients 50]
    .venv/bin/python benchmarks/circulation.py --work DIR --picklist \
        [--items 1000000 --holds 100000]
    (add --database-url postgresql+psycopg://... to run on PostgreSQL)

1. In-process checkout + checkin pairs per second, with the ledger appender off and on in the
   same run (the appender is the serving process's worker thread: appends every second, signs a
   checkpoint every 5 s), and how far the ledger lags behind the spine while it runs.
2. Over HTTP: a real ``shulian serve`` process (ledger and search workers on, as in production)
   and ``--clients`` concurrent desk clients, each lending and returning its own copies:
   checkout p50 / p95 and pairs per second. The load generator runs on the same 2 cores.
3. ``--picklist``: pick lists for ``--items`` copies and ``--holds`` waiting holds (bulk-loaded).

``--during-import FILE`` runs ``shulian catalog import FILE --publish`` into the same database
while the HTTP desks lend (the desks' figures with a big import running beside them); ``--verify``
runs ``shulian ledger verify`` on the database after the run.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import func, insert, select

from shulian.accounts import service as accounts_service
from shulian.accounts.schemas import ReaderCreate, StaffCreate
from shulian.catalog.models import Item, Record
from shulian.circulation import service as circ
from shulian.circulation.models import Hold
from shulian.consortium import service as consortium_service
from shulian.consortium.models import BranchKind
from shulian.consortium.schemas import BranchCreate
from shulian.core.clock import utcnow
from shulian.core.db import make_engine, make_sessionmaker, session_scope
from shulian.core.events import Event, offset_of
from shulian.ledger import service as ledger_service
from shulian.ledger.note import load_or_create_signer
from shulian.ledger.worker import LedgerWorker
from shulian.migrations import upgrade

BRANCHES = ("CEN", "B01", "B02", "B03", "S01", "D01")
PASSWORD = "bench password 1"  # noqa: S105 (accounts made for the run)
NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))] * 1000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(factory, *, readers: int, items: int, holds: int) -> None:  # type: ignore[no-untyped-def]
    """A network, a desk account, readers, and ``items`` copies of ``items // 3`` titles
    bulk-loaded (the catalogue's own rows, without import events), plus ``holds`` holds."""
    with session_scope(factory) as s:
        for i, code in enumerate(BRANCHES):
            consortium_service.create_branch(
                s,
                data=BranchCreate(
                    code=code,
                    name_zh=f"{code} 馆",
                    name_en=code,
                    kind=BranchKind.CENTRAL if i == 0 else BranchKind.BRANCH,
                    parent_code=None if i == 0 else "CEN",
                ),
                actor="bench",
                now=NOW,
            )
        accounts_service.create_staff(
            s,
            data=StaffCreate(
                username="desk", display_name="desk", password=PASSWORD, branch="CEN",
                roles=["circulation"],
            ),
            actor="bench",
            now=NOW,
        )  # fmt: skip
        for i in range(readers):
            accounts_service.register_reader(
                s,
                data=ReaderCreate(
                    card_number=f"R{i:06d}", name=f"读者{i}", category="adult",
                    home_branch="CEN", expires_on=datetime(2030, 1, 1).date(), password=PASSWORD,
                ),
                actor="bench",
                now=NOW,
            )  # fmt: skip
    titles = max(items // 3, 1)
    t0 = time.perf_counter()
    with session_scope(factory) as s:
        rows = []
        for rid in range(1, titles + 1):
            rows.append(
                {
                    "id": rid, "status": "published", "title": f"书名 {rid}", "other_titles": [],
                    "subjects": [], "format": "book", "source_ids": {}, "match_key": f"k{rid}",
                    "created_at": NOW, "updated_at": NOW, "published_at": NOW, "version": 1,
                }
            )  # fmt: skip
            if len(rows) == 20_000:
                s.execute(insert(Record), rows)
                rows = []
        if rows:
            s.execute(insert(Record), rows)
        rows = []
        rng = random.Random(1)
        for iid in range(1, items + 1):
            rows.append(
                {
                    "id": iid, "record_id": (iid - 1) % titles + 1, "barcode": f"B{iid:08d}",
                    "branch_code": BRANCHES[rng.randrange(len(BRANCHES))], "floor": "2F",
                    "shelf_range": str(rng.randint(1, 40)), "shelf": str(rng.randint(1, 8)),
                    "layer": rng.randint(1, 6), "item_type": "book", "status": "available",
                    "currency": "CNY", "created_at": NOW, "updated_at": NOW,
                }
            )  # fmt: skip
            if len(rows) == 20_000:
                s.execute(insert(Item), rows)
                rows = []
        if rows:
            s.execute(insert(Item), rows)
        reader_ids = list(range(1, readers + 1))
        rows = []
        for h in range(holds):
            rows.append(
                {
                    "record_id": rng.randint(1, titles), "item_id": None,
                    "reader_id": reader_ids[h % len(reader_ids)],
                    "pickup_branch": BRANCHES[rng.randrange(len(BRANCHES))],
                    "status": "waiting", "placed_at": NOW,
                }
            )  # fmt: skip
            if len(rows) == 20_000:
                s.execute(insert(Hold), rows)
                rows = []
        if rows:
            s.execute(insert(Hold), rows)
    print(f"loaded {titles:,} titles, {items:,} copies, {holds:,} holds in "
          f"{time.perf_counter() - t0:.1f} s")  # fmt: skip


def pairs_in_process(  # type: ignore[no-untyped-def]
    factory, seconds: float, reader_ids: list[int], barcodes: list[str]
) -> int:
    done = 0
    end = time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < end:
        reader, barcode = reader_ids[i % len(reader_ids)], barcodes[i % len(barcodes)]
        with session_scope(factory) as s:
            circ.check_out(
                s, reader_id=reader, barcode=barcode, branch="CEN", actor="s", now=utcnow()
            )
        with session_scope(factory) as s:
            circ.check_in(s, barcode=barcode, branch="CEN", actor="s", now=utcnow())
        done += 1
        i += 1
    return done


def in_process(args: argparse.Namespace, url: str) -> None:
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    with session_scope(factory) as s:
        barcodes = list(s.scalars(select(Item.barcode).where(Item.branch_code == "CEN").limit(200)))
    reader_ids = list(range(1, args.clients + 1))  # the readers seed() registered
    pairs_in_process(factory, 2, reader_ids, barcodes)  # warm up
    signer = load_or_create_signer(args.work / "ledger", "bench.local/ledger")
    secret = "bench-secret"  # noqa: S105
    # catch the ledger up first, so "on" measures steady state, not a backlog
    ledger_service.catch_up(factory, secret=secret, now=utcnow())
    results: dict[str, list[float]] = {"off": [], "on": []}
    lags: list[int] = []
    for mode in ("off", "on", "off", "on"):
        worker = None
        stop = threading.Event()
        if mode == "on":
            worker = LedgerWorker(
                factory, secret=secret, signer=signer, clock=utcnow, checkpoint_interval=5.0
            )
            worker.start()

            def sample(stop: threading.Event = stop) -> None:
                reader = make_sessionmaker(engine, readonly=True)
                while not stop.is_set():
                    with session_scope(reader) as s:
                        newest = s.scalar(select(func.max(Event.seq))) or 0
                        lags.append(newest - offset_of(s, "ledger"))
                    stop.wait(0.25)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
        n = pairs_in_process(factory, args.seconds / 2, reader_ids, barcodes)
        results[mode].append(n / (args.seconds / 2))
        if worker is not None:
            stop.set()
            worker.stop()
        ledger_service.catch_up(factory, secret=secret, now=utcnow())
    off, on = sum(results["off"]) / 2, sum(results["on"]) / 2
    print(f"in-process checkout+checkin pairs/s: ledger off {off:,.0f}, ledger on {on:,.0f} "
          f"(cost {100 * (off - on) / off:.1f}%; goal < 10%)")  # fmt: skip
    if lags:
        print(f"ledger lag behind the spine while on: median {sorted(lags)[len(lags) // 2]} "
              f"events, max {max(lags)} events ({len(lags)} samples every 0.25 s)")  # fmt: skip
    engine.dispose()


def over_http(args: argparse.Namespace, url: str) -> None:
    port = free_port()
    env = {
        **os.environ,
        "SHULIAN_DATA_DIR": str(args.work),
        "SHULIAN_DATABASE_URL": url,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "shulian.cli", "serve", "--port", str(port), "--no-migrate"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(args.work / "server.log", "w"),  # noqa: SIM115
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if httpx.get(base + "/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        token = httpx.post(
            base + "/api/v1/auth/token",
            json={"kind": "staff", "account": "desk", "password": PASSWORD},
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        engine = make_engine(url)
        with session_scope(make_sessionmaker(engine)) as s:
            pool = list(
                s.scalars(select(Item.barcode).where(Item.branch_code == "CEN").limit(2000))
            )
        engine.dispose()
        out_lat: list[float] = []
        in_lat: list[float] = []
        lock = threading.Lock()
        end = time.perf_counter() + args.seconds
        errors: list[str] = []

        def desk(i: int) -> None:
            mine_out, mine_in = [], []
            mine = pool[i :: args.clients][:20]
            rng = random.Random(i)
            if args.pace:  # desks are not synchronised: each starts at its own moment
                time.sleep(args.pace * rng.random())
            with httpx.Client(base_url=base, timeout=60, headers=headers) as c:
                k = 0
                while time.perf_counter() < end:
                    barcode = mine[k % len(mine)]
                    t = time.perf_counter()
                    r = c.post("/api/v1/circulation/checkouts",
                               json={"card": f"R{i:06d}", "barcode": barcode})  # fmt: skip
                    mine_out.append(time.perf_counter() - t)
                    if r.status_code != 201:
                        errors.append(r.text)
                    t = time.perf_counter()
                    r = c.post("/api/v1/circulation/checkins", json={"barcode": barcode})
                    mine_in.append(time.perf_counter() - t)
                    if r.status_code != 200:
                        errors.append(r.text)
                    k += 1
                    if args.pace:  # a desk scans at a person's pace, not back to back
                        time.sleep(args.pace * (0.5 + rng.random()))
            with lock:
                out_lat.extend(mine_out)
                in_lat.extend(mine_in)

        importer = None
        if args.during_import:
            importer = subprocess.Popen(
                [sys.executable, "-m", "shulian.cli", "catalog", "import",
                 str(args.during_import), "--publish", "--branch", "CEN"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=open(args.work / "import.log", "w"),  # noqa: SIM115
            )  # fmt: skip
            time.sleep(5)  # past its start-up: the desks meet it importing
            end = time.perf_counter() + args.seconds
        t0 = time.perf_counter()
        threads = [threading.Thread(target=desk, args=(i,)) for i in range(args.clients)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - t0
        pace = f"one checkout+checkin every ~{args.pace:g} s each" if args.pace else "back to back"
        print(f"HTTP, {args.clients} concurrent desks ({pace}): checkout p50 "
              f"{pct(out_lat, 50):.1f} ms, "
              f"p95 {pct(out_lat, 95):.1f} ms (goal p95 <= 30 ms); checkin p50 "
              f"{pct(in_lat, 50):.1f} ms, p95 {pct(in_lat, 95):.1f} ms; "
              f"{len(out_lat) / wall:,.0f} pairs/s; {len(errors)} errors")  # fmt: skip
        if errors:
            print("first error:", errors[0][:300])
        if importer is not None:
            running = importer.poll() is None
            engine = make_engine(url)
            with session_scope(make_sessionmaker(engine)) as s:
                records = s.scalar(select(func.count(Record.id)))
            engine.dispose()
            print(f"import beside the desks: {'still running' if running else 'finished'} "
                  f"at the end, {records:,} records in the catalogue")  # fmt: skip
            importer.terminate()
            importer.wait(timeout=60)
    finally:
        server.terminate()
        server.wait(timeout=30)


def picklist(args: argparse.Namespace, url: str) -> None:
    engine = make_engine(url)
    factory = make_sessionmaker(engine, readonly=True)
    for _ in range(2):
        t0 = time.perf_counter()
        with session_scope(factory) as s:
            picks = circ.pick_list(s, now=utcnow())
        took = time.perf_counter() - t0
        print(f"pick lists for {args.items:,} copies and {args.holds:,} holds: {len(picks):,} "
              f"copies to pull, {took:.2f} s (goal <= 10 s)")  # fmt: skip
    engine.dispose()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--database-url", default="")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--picklist", action="store_true")
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--holds", type=int, default=100_000)
    ap.add_argument("--skip-http", action="store_true")
    ap.add_argument("--skip-in-process", action="store_true")
    ap.add_argument("--pace", type=float, default=0.0, help="seconds between a desk's pairs")
    ap.add_argument("--during-import", type=Path, help="a catalogue file to import meanwhile")
    ap.add_argument("--verify", action="store_true", help="run `shulian ledger verify` after")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    url = args.database_url or f"sqlite:///{args.work / 'bench.db'}"
    engine = make_engine(url)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    with session_scope(factory) as s:
        seeded = s.scalar(select(func.count(Item.id)))
    if not seeded:
        if args.picklist:
            seed(factory, readers=100, items=args.items, holds=args.holds)
        else:
            seed(factory, readers=args.clients, items=6000, holds=0)
    engine.dispose()
    if args.picklist:
        picklist(args, url)
        return 0
    if not args.skip_in_process:
        in_process(args, url)
    if not args.skip_http:
        over_http(args, url)
    if args.verify:
        env = {**os.environ, "SHULIAN_DATA_DIR": str(args.work), "SHULIAN_DATABASE_URL": url}
        done = subprocess.run(
            [sys.executable, "-m", "shulian.cli", "ledger", "verify"],
            env=env,
            capture_output=True,
            text=True,
        )
        last = (done.stdout.strip().splitlines() or [""])[-1]
        print(f"ledger verify: exit {done.returncode}: {last}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
