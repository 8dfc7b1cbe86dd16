"""A hostile peer: a real HTTP server on a free local port that serves whatever key, checkpoint
and consistency proof a test gives it (a forged but validly signed checkpoint, a truncated or
re-ordered one), and keeps what is POSTed to it."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class StaticPeer:
    key: str = ""
    checkpoint: str = ""
    proof: list[bytes] = field(default_factory=list)
    posted: list[str] = field(default_factory=list)
    status: int = 200
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> StaticPeer:
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, status: int, body: str, kind: str = "text/plain") -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if peer.status != 200:
                    self._send(peer.status, json.dumps({"detail": "down for maintenance"}))
                elif parts.path == "/api/v1/ledger/key":
                    self._send(200, peer.key + "\n")
                elif parts.path == "/api/v1/ledger/checkpoint":
                    self._send(200, peer.checkpoint)
                elif parts.path == "/api/v1/ledger/proof/consistency":
                    q = parse_qs(parts.query)
                    doc = {
                        "first": int(q["first"][0]),
                        "second": int(q["second"][0]),
                        "first_root": "",
                        "second_root": "",
                        "proof": [p.hex() for p in peer.proof],
                    }
                    self._send(200, json.dumps(doc), "application/json")
                else:
                    self._send(404, json.dumps({"detail": "Page not found"}))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                peer.posted.append(self.rfile.read(length).decode())
                self._send(201, "[]", "application/json")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
