"""SIP2 checkout round trip with many kiosks at once, against a real `shulian sip2 serve`.

    .venv/bin/python benchmarks/sip2_checkout.py [--kiosks 50] [--per-kiosk 40]
        [--interval 1.0] [--database-url URL] [--work DIR]

Builds a library in a fresh database (SQLite under ``--work``, or ``--database-url``): the demo
network's central library, one SIP2 account per kiosk, readers and copies on the shelf. Starts
``shulian sip2 serve`` in its own process, then ``--kiosks`` asyncio clients log in and each
lends ``--per-kiosk`` copies (11 -> 12), one every ``--interval`` seconds with random jitter
(0 = as fast as answers come back: the saturation figure). The round trip is timed from the
first byte sent to the response's CR. Prints p50/p95/p99/max, throughput and refusals.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from shulian.accounts import service as accounts_service
from shulian.accounts.schemas import ReaderCreate
from shulian.catalog import service as catalog_service
from shulian.catalog.schemas import ItemCreate, RecordCreate
from shulian.consortium import service as consortium_service
from shulian.consortium.models import BranchKind
from shulian.consortium.schemas import BranchCreate
from shulian.core.db import make_engine, make_sessionmaker, session_scope
from shulian.migrations import upgrade
from shulian.protocols.sip2.codec import checksum_text
from shulian.selfservice import service as selfservice_service
from shulian.selfservice.schemas import KioskCreate

PASSWORD = "kiosk-bench-1"  # noqa: S105 - a throwaway benchmark library
LOANS_PER_READER = 8  # under the default rule's limit of 10


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))] * 1000


def build(url: str, kiosks: int, per_kiosk: int) -> list[tuple[str, list[tuple[str, str]]]]:
    """The library; returns, per kiosk, its login and the (card, barcode) pairs it will lend."""
    engine = make_engine(url)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    now = datetime.now(UTC)
    plan: list[tuple[str, list[tuple[str, str]]]] = []
    with session_scope(factory) as s:
        consortium_service.create_branch(
            s,
            data=BranchCreate(
                code="CEN", name_zh="中心馆", name_en="Central", kind=BranchKind.CENTRAL
            ),
            actor="bench",
            now=now,
        )
        record = catalog_service.create_record(
            s, data=RecordCreate(title="狂人日记", language="chi"), actor="bench", now=now
        )
        for action in ("submit", "approve", "publish"):
            catalog_service.transition(s, record_id=record.id, action=action, actor="b", now=now)
        for k in range(kiosks):
            login = f"bench-kiosk-{k:03d}"
            selfservice_service.create_kiosk(
                s,
                data=KioskCreate(login=login, password=PASSWORD, branch_code="CEN"),
                actor="bench",
                now=now,
            )
            pairs = []
            for i in range(per_kiosk):
                if i % LOANS_PER_READER == 0:
                    card = f"B{k:03d}{i:05d}"
                    accounts_service.register_reader(
                        s,
                        data=ReaderCreate(
                            card_number=card,
                            name="读者",
                            home_branch="CEN",
                            expires_on=date(now.year + 2, 1, 1),
                        ),
                        actor="bench",
                        now=now,
                    )
                barcode = f"K{k:03d}{i:06d}"
                catalog_service.add_item(
                    s,
                    record_id=record.id,
                    data=ItemCreate(barcode=barcode, branch="CEN"),
                    actor="bench",
                    now=now,
                )
                pairs.append((card, barcode))
            plan.append((login, pairs))
    engine.dispose()
    return plan


def message(body: str) -> bytes:
    data = (body + "AZ").encode()
    return data + checksum_text(data).encode() + b"\r"


async def kiosk(
    port: int,
    login: str,
    pairs: list[tuple[str, str]],
    interval: float,
    ready: asyncio.Queue[str],
    start: asyncio.Event,
    timings: list[float],
    refusals: list[str],
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def ask(data: bytes) -> bytes:
        writer.write(data)
        await writer.drain()
        return await reader.readuntil(b"\r")

    answer = await ask(message(f"9300CN{login}|CO{PASSWORD}|AY0"))
    assert answer.startswith(b"941"), answer
    ready.put_nowait(login)
    await start.wait()
    rng = random.Random(login)
    for n, (card, barcode) in enumerate(pairs):
        if interval:
            await asyncio.sleep(rng.uniform(0.5, 1.5) * interval)
        stamp = time.strftime("%Y%m%d    %H%M%S")
        data = message(f"11NN{stamp}{' ' * 18}AOCEN|AA{card}|AB{barcode}|AC|AY{n % 10}")
        began = time.perf_counter()
        answer = await ask(data)
        timings.append(time.perf_counter() - began)
        if not answer.startswith(b"121"):
            refusals.append(answer.decode(errors="replace")[:120])
    writer.close()
    await writer.wait_closed()


async def run_load(
    port: int, plan: list[tuple[str, list[tuple[str, str]]]], interval: float
) -> tuple[list[float], list[str], float]:
    timings: list[float] = []
    refusals: list[str] = []
    start = asyncio.Event()
    ready: asyncio.Queue[str] = asyncio.Queue()
    tasks = [
        asyncio.create_task(kiosk(port, login, pairs, interval, ready, start, timings, refusals))
        for login, pairs in plan
    ]
    for _ in plan:  # every kiosk connected and logged in (Argon2) before the clock starts
        await ready.get()
    await asyncio.sleep(0.2)
    began = time.perf_counter()
    start.set()
    await asyncio.gather(*tasks)
    return timings, refusals, time.perf_counter() - began


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit("the server did not start")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--kiosks", type=int, default=50)
    ap.add_argument("--per-kiosk", type=int, default=40)
    ap.add_argument("--interval", type=float, default=1.0, help="seconds between checkouts")
    ap.add_argument("--database-url", default="", help="default: SQLite under --work")
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--workers", type=int, default=8, help="the server's database threads")
    args = ap.parse_args()

    work = args.work or Path(tempfile.mkdtemp(prefix="sip2bench-"))
    work.mkdir(parents=True, exist_ok=True)
    url = args.database_url or f"sqlite:///{work / 'bench.db'}"
    t0 = time.perf_counter()
    plan = build(url, args.kiosks, args.per_kiosk)
    print(f"library built in {time.perf_counter() - t0:.1f} s: {args.kiosks} kiosks")

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "SHULIAN_DATABASE_URL": url,
        "SHULIAN_DATA_DIR": str(work),
        "SHULIAN_SECRET_KEY": "bench-secret",
    }
    cmd = [str(Path(sys.executable).parent / "shulian"), "sip2", "serve", "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--workers", str(args.workers)]
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, server)
        timings, refusals, elapsed = asyncio.run(run_load(port, plan, args.interval))
    finally:
        server.terminate()
        server.wait(10)
    n = len(timings)
    print(
        f"{n} checkouts by {args.kiosks} kiosks in {elapsed:.1f} s = {n / elapsed:.0f}/s; "
        f"interval {args.interval} s; database {url.split(':')[0]}"
    )
    print(
        f"round trip ms: p50 {pct(timings, 50):.1f}  p95 {pct(timings, 95):.1f}  "
        f"p99 {pct(timings, 99):.1f}  max {max(timings) * 1000:.1f}"
    )
    print(f"refused: {len(refusals)}" + (f" (first: {refusals[0]!r})" if refusals else ""))


if __name__ == "__main__":
    main()
