"""The Merkle tree of RFC 9162 (certificate transparency 2.0), section 2.1.

SHA-256; a leaf hashes as ``SHA256(0x00 || data)``, an interior node as
``SHA256(0x01 || left || right)``; the empty tree's root is ``SHA256("")``. Any independent
RFC 6962 / RFC 9162 verifier checks the proofs made here.

Proof generation never needs the whole tree: every range hash (``MTH(D[a:b])`` in the RFC) is a
right fold of *perfect* subtrees (``2**level`` leaves starting at a multiple of ``2**level``), so a
proof is planned as a set of perfect-subtree keys, fetched at once from wherever the tree lives
(``NodeSource``: memory here, the database in the ledger service), then folded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

Key = tuple[int, int]  # (level, index): the perfect subtree of leaves [index << level, +2**level)


class ProofError(ValueError):
    """A proof, a size or a hash that does not check out; the message says which and why."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    """The k of RFC 9162: the largest power of two smaller than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def range_keys(start: int, n: int) -> list[Key]:
    """The perfect subtrees, left to right, whose right fold is ``MTH(D[start:start+n])``.

    ``start`` must be aligned as the RFC's recursion aligns it (a multiple of the largest power
    of two in ``n``), which holds for every range a proof asks for.
    """
    keys: list[Key] = []
    while n > 0:
        level = n.bit_length() - 1
        keys.append((level, start >> level))
        start += 1 << level
        n -= 1 << level
    return keys


def fold(keys: Sequence[Key], nodes: Mapping[Key, bytes]) -> bytes:
    acc = nodes[keys[-1]]
    for key in reversed(keys[:-1]):
        acc = node_hash(nodes[key], acc)
    return acc


def _path_ranges(index: int, start: int, n: int) -> list[tuple[int, int]]:
    """PATH(m, D[n]) of RFC 9162 2.1.3.1 as the ranges whose hashes it lists, leaf first."""
    out: list[tuple[int, int]] = []
    while n > 1:
        k = _largest_power_of_two_below(n)
        if index < k:
            out.append((start + k, n - k))
            n = k
        else:
            out.append((start, k))
            index -= k
            start += k
            n -= k
    out.reverse()
    return out


def _subproof_ranges(m: int, start: int, n: int, complete: bool) -> list[tuple[int, int]]:
    """SUBPROOF(m, D[n], b) of RFC 9162 2.1.4.1 as ranges, in proof order."""
    out: list[tuple[int, int]] = []
    while m != n:
        k = _largest_power_of_two_below(n)
        if m <= k:
            out.append((start + k, n - k))
            n = k
        else:
            out.append((start, k))
            m -= k
            start += k
            n -= k
            complete = False
    if not complete:
        out.append((start, n))
    out.reverse()
    return out


class NodeSource(Protocol):
    """Where perfect-subtree hashes come from: memory, or the ledger's tables."""

    def perfect_hashes(self, keys: Iterable[Key]) -> Mapping[Key, bytes]: ...


def _hashes_of(source: NodeSource, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
    plans = [range_keys(s, n) for s, n in ranges]
    nodes = source.perfect_hashes({k for plan in plans for k in plan})
    return [fold(plan, nodes) for plan in plans]


def root_of(source: NodeSource, size: int) -> bytes:
    if size == 0:
        return EMPTY_ROOT
    return _hashes_of(source, [(0, size)])[0]


def inclusion_proof(source: NodeSource, tree_size: int, index: int, size: int) -> list[bytes]:
    """The audit path of leaf ``index`` in the tree of the first ``size`` leaves.

    Raises: ProofError when ``index >= size`` or ``size`` exceeds the tree.
    """
    if size > tree_size:
        raise ProofError(f"tree size {size} is beyond the ledger's {tree_size} leaves")
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of {size} leaves")
    return _hashes_of(source, _path_ranges(index, 0, size))


def consistency_proof(source: NodeSource, tree_size: int, first: int, second: int) -> list[bytes]:
    """The proof that the tree of ``second`` leaves extends the tree of ``first`` leaves.

    Raises: ProofError when ``first`` is 0 (nothing to be consistent with), ``first > second``
    or ``second`` exceeds the tree.
    """
    if second > tree_size:
        raise ProofError(f"tree size {second} is beyond the ledger's {tree_size} leaves")
    if not 0 < first <= second:
        raise ProofError(f"no consistency proof from size {first} to size {second}")
    return _hashes_of(source, _subproof_ranges(first, 0, second, True))


class MemoryTree:
    """A whole tree in memory (tests, witnesses, benchmarks); stores every perfect subtree."""

    def __init__(self) -> None:
        self._levels: list[list[bytes]] = [[]]

    @property
    def size(self) -> int:
        return len(self._levels[0])

    def append(self, leaf: bytes) -> int:
        index = self.size
        self._levels[0].append(leaf)
        level, i, h = 0, index, leaf
        while i & 1:
            h = node_hash(self._levels[level][i - 1], h)
            level, i = level + 1, i >> 1
            if len(self._levels) == level:
                self._levels.append([])
            self._levels[level].append(h)
        return index

    def perfect_hashes(self, keys: Iterable[Key]) -> Mapping[Key, bytes]:
        return {(lv, i): self._levels[lv][i] for lv, i in keys}

    def root(self, size: int | None = None) -> bytes:
        n = self.size if size is None else size
        if n > self.size:
            raise ProofError(f"tree size {n} is beyond the tree's {self.size} leaves")
        return root_of(self, n)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return inclusion_proof(self, self.size, index, size)

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        return consistency_proof(self, self.size, first, second)


# --- verification (RFC 9162 2.1.3.2 and 2.1.4.2) --------------------------------------------


def _check_hash(name: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{name} is {len(value)} bytes, not {HASH_SIZE}")


def verify_inclusion(
    *, leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` sits at ``index`` in the tree of ``size`` leaves with ``root``.

    Raises: ProofError naming what is wrong.
    """
    _check_hash("leaf hash", leaf_hash)
    _check_hash("root hash", root)
    for i, p in enumerate(proof):
        _check_hash(f"proof element {i}", p)
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of {size} leaves")
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            raise ProofError("proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("proof is shorter than the tree is deep")
    if r != root:
        raise ProofError("proof does not lead to the root hash")


def verify_consistency(
    *, first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of ``second`` leaves (``second_root``) extends the tree of ``first``.

    Raises: ProofError naming what is wrong.
    """
    if first == 0:
        raise ProofError("an empty tree has no consistency proof")
    if first > second:
        raise ProofError(f"size {first} is larger than size {second}")
    if first == second:
        # As transparency-dev's verifier (and its test vectors): the same tree, byte for byte.
        if proof:
            raise ProofError("trees of equal size need an empty proof")
        if first_root != second_root:
            raise ProofError("two trees of the same size have different roots (a split view)")
        return
    _check_hash("first root", first_root)
    _check_hash("second root", second_root)
    for i, p in enumerate(proof):
        _check_hash(f"proof element {i}", p)
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: its root is a node of the larger tree
        path.insert(0, first_root)
    if not path:
        raise ProofError("proof is empty")
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("proof is longer than needed")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("proof is shorter than needed")
    if fr != first_root:
        raise ProofError("proof does not lead to the first root")
    if sr != second_root:
        raise ProofError("proof does not lead to the second root")
