"""Loads the shipped RFC 6962 / RFC 9162 test vectors (``tests/data/merkle``, Apache-2.0)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

VECTORS_PATH = Path(__file__).resolve().parent.parent / "data" / "merkle" / "rfc6962_vectors.json"


@cache
def load() -> dict[str, Any]:
    with VECTORS_PATH.open(encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


def _hex(s: str) -> bytes:
    return bytes.fromhex(s)


@dataclass(frozen=True)
class InclusionProbe:
    file: str
    index: int
    size: int
    root: bytes
    leaf_hash: bytes
    proof: list[bytes]
    desc: str
    want_err: bool


@dataclass(frozen=True)
class ConsistencyProbe:
    file: str
    size1: int
    size2: int
    root1: bytes
    root2: bytes
    proof: list[bytes]
    desc: str
    want_err: bool


def inclusion_probes() -> list[InclusionProbe]:
    return [
        InclusionProbe(
            file=p["file"],
            index=p["leafIdx"],
            size=p["treeSize"],
            root=_hex(p["root"]),
            leaf_hash=_hex(p["leafHash"]),
            proof=[_hex(x) for x in p["proof"]],
            desc=p["desc"],
            want_err=p["wantErr"],
        )
        for p in load()["probes"]["inclusion"]
    ]


def consistency_probes() -> list[ConsistencyProbe]:
    return [
        ConsistencyProbe(
            file=p["file"],
            size1=p["size1"],
            size2=p["size2"],
            root1=_hex(p["root1"]),
            root2=_hex(p["root2"]),
            proof=[_hex(x) for x in p["proof"]],
            desc=p["desc"],
            want_err=p["wantErr"],
        )
        for p in load()["probes"]["consistency"]
    ]


def probe_id(file: str) -> str:
    """A short, unique test id: the probe's path below ``testdata/``."""
    return file.removeprefix("testdata/").removesuffix(".json")


@dataclass(frozen=True)
class ReferenceTree:
    leaf_inputs: list[bytes]
    leaf_hashes: list[bytes]
    node_hashes_by_level: list[list[bytes]]
    roots_by_size: list[bytes]


def reference_tree_8() -> ReferenceTree:
    r = load()["reference_tree_8"]
    return ReferenceTree(
        leaf_inputs=[_hex(x) for x in r["leaf_inputs_hex"]],
        leaf_hashes=[_hex(x) for x in r["leaf_hashes"]],
        node_hashes_by_level=[[_hex(x) for x in level] for level in r["node_hashes_by_level"]],
        roots_by_size=[_hex(x) for x in r["roots_by_size"]],
    )
