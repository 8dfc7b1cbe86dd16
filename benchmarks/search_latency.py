"""Search latency in-process and over HTTP (32 concurrent clients), facets on; raw Tantivy on the
same queries in the same run; suggestion latency; resident memory of the serving process.

    .venv/bin/python benchmarks/search_latency.py --work DIR [--clients 32] [--queries 400]
        [--workers 1] [--seconds 20] [--pace 0 1]

HTTP runs once per ``--pace`` value: 0 is every client sending its next search the moment the
last one is answered (saturation), 1 is each client searching about once a second.

``DIR`` is a catalogue built by ``benchmarks/catalog_import.py --keep DIR`` (its ``bench.db``
and ``search/`` index). Queries are drawn from the catalogue itself: words of real titles
(Chinese, English and other languages), romanised pinyin, authors and ISBNs, so they hit real
postings lists.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
from sqlalchemy import select

from shulian.catalog.models import Record, RecordIsbn
from shulian.core.db import make_engine, make_sessionmaker
from shulian.search.documents import SearchQuery
from shulian.search.service import SearchService


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))] * 1000


def draw_queries(factory, n: int) -> tuple[list[str], list[str]]:  # type: ignore[no-untyped-def]
    rng = random.Random(7)
    with factory() as s:
        titles = list(s.scalars(select(Record.title).order_by(Record.id).limit(200_000)))
        others = [o for (o,) in s.execute(select(Record.other_titles).limit(50_000)) for o in o]
        isbns = list(s.scalars(select(RecordIsbn.isbn).limit(20_000)))
    queries, prefixes = [], []
    cjk = [t for t in titles if re.search(r"[\u4e00-\u9fff]", t)]
    words = [w for t in titles for w in re.findall(r"[A-Za-z]{4,}", t)]
    for _ in range(n):
        kind = rng.random()
        if kind < 0.3 and cjk:
            t = rng.choice(cjk)
            queries.append(t[: rng.randint(2, 4)])
        elif kind < 0.7 and words:
            queries.append(" ".join(rng.sample(words, rng.choice((1, 1, 2)))))
        elif kind < 0.85 and others:
            queries.append(" ".join(rng.choice(others).split()[:3]))
        elif isbns:
            queries.append(rng.choice(isbns))
    for _ in range(n):
        t = rng.choice(titles)
        prefixes.append(t[: rng.randint(1, 3)] if re.match(r"[\u4e00-\u9fff]", t) else t[:4])
    return queries, prefixes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        try:
            if (
                entry.name.isdigit()
                and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid
            ):
                out.append(int(entry.name))
        except OSError:
            pass
    return out


async def http_load(
    port: int, queries: list[str], clients: int, seconds: float, pace: float
) -> tuple[list[float], float]:
    """``clients`` keep-alive HTTP/1.1 connections, each sending a search and waiting for the
    answer, then the next at once (``pace`` 0) or after a pause of ``pace`` x 0.5-1.5 seconds (a
    reader looking at the results). Written on bare asyncio streams so that the load costs the
    2 shared cores as little as possible (about 20 us a request, against ~1 ms for an httpx
    client in a thread)."""
    lat: list[float] = []
    deadline = time.perf_counter() + seconds

    async def client(i: int) -> None:
        rng = random.Random(i)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        if pace:  # readers do not start in step
            await asyncio.sleep(pace * rng.random())
        n = rng.randrange(len(queries))
        while time.perf_counter() < deadline:
            path = "/api/v1/search?" + urlencode({"q": queries[n % len(queries)]})
            n += 1
            t = time.perf_counter()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            lat.append(time.perf_counter() - t)
            status = int(head.split(b" ", 2)[1])
            assert status in (200, 400), head
            if pace:
                await asyncio.sleep(pace * (0.5 + rng.random()))
        writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    return lat, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--queries", type=int, default=400)
    ap.add_argument("--seconds", type=float, default=20, help="length of each HTTP run")
    ap.add_argument("--workers", type=int, default=1, help="serve worker processes")
    ap.add_argument("--pace", type=float, nargs="*", default=[0.0, 1.0],
                    help="HTTP runs: seconds between searches (0: back to back)")  # fmt: skip
    args = ap.parse_args()
    db = args.work / "bench.db"
    if not db.exists():
        print(f"missing {db}: run benchmarks/catalog_import.py --keep {args.work}", file=sys.stderr)
        return 2
    engine = make_engine(f"sqlite:///{db}")
    factory = make_sessionmaker(engine, readonly=True)
    search = SearchService(args.work / "search")
    queries, prefixes = draw_queries(factory, args.queries)
    print(f"index: {search.index.count():,} documents; {len(queries)} queries")

    # in-process, facets on, result lines as the API returns them
    lat: list[float] = []
    for q in queries[:20]:  # warm up
        search.search(SearchQuery(text=q))
    for q in queries:
        t = time.perf_counter()
        search.search(SearchQuery(text=q, with_facets=True))
        lat.append(time.perf_counter() - t)
    print(f"in-process search (facets, result lines): p50 {pct(lat, 50):.1f} ms, "
          f"p95 {pct(lat, 95):.1f} ms (goal p95 <= 25 ms)")  # fmt: skip
    engine_only: list[float] = []
    for q in queries:
        t = time.perf_counter()
        search.index.search(SearchQuery(text=q, with_facets=True))
        engine_only.append(time.perf_counter() - t)
    print(f"  of which the index (analysis, query, facets): p50 {pct(engine_only, 50):.1f} ms, "
          f"p95 {pct(engine_only, 95):.1f} ms")  # fmt: skip

    # raw Tantivy: the query parser over the same text fields, top 20, no facets, no analysis
    raw_index = search.index._index
    fields = ["title", "other_titles", "authors", "subjects", "summary"]
    searcher = raw_index.searcher()
    raw: list[float] = []
    for q in queries:
        t = time.perf_counter()
        try:
            query = raw_index.parse_query(re.sub(r"[^\w\s]", " ", q) or "x", fields)
            searcher.search(query, 20)
        except ValueError:
            pass
        raw.append(time.perf_counter() - t)
    print(f"raw Tantivy (parse_query, top 20): p50 {pct(raw, 50):.2f} ms, "
          f"p95 {pct(raw, 95):.2f} ms; "
          f"ratio ours/raw at p95 {pct(lat, 95) / max(pct(raw, 95), 1e-6):.1f}x")  # fmt: skip

    sug: list[float] = []
    for p in prefixes:
        t = time.perf_counter()
        search.suggest(p)
        sug.append(time.perf_counter() - t)
    print(f"suggest: p50 {pct(sug, 50):.2f} ms, p95 {pct(sug, 95):.2f} ms (goal p95 <= 15 ms)")
    engine.dispose()

    # over HTTP: a real server process, N concurrent clients
    port = free_port()
    env = {
        **os.environ,
        "SHULIAN_DATA_DIR": str(args.work),
        "SHULIAN_DATABASE_URL": f"sqlite:///{db}",
        "SHULIAN_SEARCH_RATE_PER_MINUTE": "1000000",
        "SHULIAN_LEDGER_WORKER": "false",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "shulian.cli", "serve", "--port", str(port), "--no-migrate",
         "--workers", str(args.workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(base + "/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        for q in queries[:40]:
            httpx.get(base + "/api/v1/search", params={"q": q})
        for pace in args.pace:
            http_lat, wall = asyncio.run(http_load(port, queries, args.clients, args.seconds, pace))
            how = f"each one search every ~{pace:g} s" if pace else "back to back"
            print(f"HTTP, {args.clients} concurrent clients ({how}), {args.workers} worker(s): "
                  f"p50 {pct(http_lat, 50):.1f} ms, p95 {pct(http_lat, 95):.1f} ms, "
                  f"p99 {pct(http_lat, 99):.1f} ms (goal p95 <= 60 ms), "
                  f"{len(http_lat) / wall:,.0f} searches/s")  # fmt: skip
        rss = sum(rss_mb(p) for p in [server.pid, *children(server.pid)])
        print(f"serving process(es) resident memory: {rss:,.0f} MB")
    finally:
        server.terminate()
        server.wait(timeout=20)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
