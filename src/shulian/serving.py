"""``shulian serve --workers N``: N serving processes on one port, each listening on a socket of
its own (``SO_REUSEPORT``), so that the kernel spreads new connections over them evenly.

uvicorn's own workers share one listening socket and take connections as they come: a burst of
new connections (a class opening the catalogue at once, a city app's proxy warming its pool) can
all land on the worker that woke first and stay there, keep-alive, while the other idles. Here
each worker has its socket and the kernel picks one per connection.

The supervisor starts the workers, restarts one that dies, and on SIGINT or SIGTERM asks them all
to finish their requests and stop. A worker that fails within ``STARTUP_GRACE`` seconds of
starting with an error (a port in use, a database it cannot open) stops the whole server:
restarting it would only fail again; one killed by a signal is restarted. Without
``SO_REUSEPORT`` (not Linux or BSD) ``serve`` uses uvicorn's workers instead.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import threading
import time
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

log = logging.getLogger("shulian.serve")

STARTUP_GRACE = 15.0
STOP_GRACE = 30.0


def available() -> bool:
    """Whether this platform lets several sockets listen on one port."""
    return hasattr(socket, "SO_REUSEPORT")


def _listen(host: str, port: int, backlog: int) -> socket.socket:
    family, kind, proto, _name, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    sock.listen(backlog)
    return sock


def _worker(config: dict[str, Any]) -> None:
    import uvicorn

    settings = uvicorn.Config(**config)
    sock = _listen(settings.host, settings.port, settings.backlog)
    uvicorn.Server(settings).run(sockets=[sock])


def run(config: dict[str, Any], *, workers: int) -> int:
    """Serve with ``workers`` processes, each running ``uvicorn.Config(**config)`` on a socket
    of its own, until SIGINT or SIGTERM. Returns the exit status (1: a worker failed to start)."""
    ctx = multiprocessing.get_context("spawn")
    stop = threading.Event()
    failed = False

    def start() -> tuple[BaseProcess, float]:
        process = ctx.Process(target=_worker, args=({**config, "workers": 1},), daemon=False)
        process.start()
        return process, time.monotonic()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    procs = [start() for _ in range(workers)]
    log.info("started %d workers: %s", workers, ", ".join(str(p.pid) for p, _ in procs))
    try:
        while not stop.wait(0.5):
            for i, (process, started) in enumerate(procs):
                if process.is_alive():
                    continue
                exitcode = process.exitcode or 0
                if exitcode > 0 and time.monotonic() - started < STARTUP_GRACE:
                    log.error("worker %s failed to start (exit %s)", process.pid, process.exitcode)
                    failed = True
                    stop.set()
                    break
                log.warning(
                    "worker %s stopped (exit %s); restarting", process.pid, process.exitcode
                )
                procs[i] = start()
    finally:
        for process, _ in procs:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes open requests, then exits
        deadline = time.monotonic() + STOP_GRACE
        for process, _ in procs:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 1 if failed else 0
