"""Another library's ledger over HTTP (its public ``/api/v1/ledger`` API), for witnessing.

Every failure (no answer, a timeout, an error status, a body that is not what it should be)
becomes a ``PeerError`` whose message says which URL did what; nothing else escapes.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import httpx

from shulian.ledger.witness import PeerError

TIMEOUT = httpx.Timeout(15.0, connect=5.0)
MAX_BODY = 1024 * 1024


def normalize_url(url: str) -> str:
    """The library's base URL without a trailing slash. Raises: PeerError."""
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise PeerError(f"{url!r} is not a library's address (http://host:port or https://host)")
    return url


def make_client() -> httpx.Client:
    return httpx.Client(timeout=TIMEOUT, headers={"User-Agent": "shulian-witness"})


class HttpPeer:
    """A peer's published ledger, read through ``client`` (whose lifetime the caller owns)."""

    def __init__(self, url: str, client: httpx.Client) -> None:
        self.url = normalize_url(url)
        self.client = client

    def _request(self, method: str, path: str, **kwargs: Any) -> tuple[int, str]:
        where = f"{self.url}{path}"
        try:
            with self.client.stream(method, where, **kwargs) as response:
                body = b""
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_BODY:
                        raise PeerError(f"{where} answered more than {MAX_BODY} bytes")
                status = response.status_code
        except httpx.TimeoutException:
            raise PeerError(f"{where} did not answer in time") from None
        except httpx.ConnectError as exc:
            raise PeerError(f"could not connect to {self.url}: {exc}") from None
        except httpx.HTTPError as exc:
            raise PeerError(f"{where} failed: {exc}") from None
        try:
            return status, body.decode()
        except UnicodeDecodeError:
            raise PeerError(f"{where} answered with a body that is not UTF-8 text") from None

    def _expect(self, status: int, text: str, want: int, path: str) -> str:
        if status != want:
            raise PeerError(f"{self.url}{path} answered {status}: {_detail(text)}")
        return text

    def key(self) -> str:
        path = "/api/v1/ledger/key"
        return self._expect(*self._request("GET", path), 200, path).strip()

    def checkpoint(self) -> str:
        path = "/api/v1/ledger/checkpoint"
        return self._expect(*self._request("GET", path), 200, path)

    def consistency(self, first: int, second: int) -> list[bytes]:
        path = "/api/v1/ledger/proof/consistency"
        status, text = self._request("GET", path, params={"first": first, "second": second})
        self._expect(status, text, 200, path)
        try:
            doc = json.loads(text)
            if doc["first"] != first or doc["second"] != second:
                raise ValueError(f"it is for sizes {doc['first']} to {doc['second']}")
            return [bytes.fromhex(h) for h in doc["proof"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise PeerError(
                f"{self.url}{path} answered a consistency proof that cannot be read: {exc}"
            ) from None

    def deliver(self, note: str) -> None:
        """POST our cosigned note back. Raises: PeerError (unreachable, or the peer refused it,
        with its reason)."""
        path = "/api/v1/ledger/cosignatures"
        status, text = self._request(
            "POST",
            path,
            content=note.encode(),
            headers={"Content-Type": "text/plain; charset=utf-8"},
        )
        if status not in (200, 201):
            raise PeerError(f"{self.url} refused our cosignature ({status}): {_detail(text)}")


def _detail(text: str) -> str:
    try:
        doc = json.loads(text)
    except ValueError:
        return text.strip()[:200] or "(empty answer)"
    if isinstance(doc, dict) and "detail" in doc:
        return str(doc["detail"])[:500]
    return text.strip()[:200]
