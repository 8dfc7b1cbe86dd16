"""An independent RFC 9162 Merkle-tree reference, written for the tests straight from the RFC.

It deliberately shares no code with ``shulian.ledger``: the project's module is checked against
this one and against third-party vectors (``tests/data/merkle``), and this one is itself checked
against those vectors (``test_rfc9162.py``).

- ``mth``: the Merkle Tree Hash, RFC 9162 s2.1.1 (recursive, over leaf *data*).
- ``path`` / ``proof``: inclusion and consistency proof generation, s2.1.3.1 and s2.1.4.1.
- ``verify_inclusion`` / ``verify_consistency``: proof verification, s2.1.3.2 and s2.1.4.2.

Policy beyond the bare RFC algorithms (it matches transparency-dev/merkle and all its probes):
every hash that is hashed or compared with a computed hash must be exactly 32 bytes; no
consistency proof from an empty tree (``size1 == 0``); ``size1 > size2`` and ``index >= size``
are rejected; for ``size1 == size2`` the proof must be empty and the two roots equal (compared as
given: upstream's vectors accept equal non-32-byte roots there, and so does this).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_SIZE = 32


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def hash_leaf(data: bytes) -> bytes:
    """Leaf hash: SHA-256(0x00 || data)."""
    return _sha256(b"\x00" + data)


def hash_children(left: bytes, right: bytes) -> bytes:
    """Interior node hash: SHA-256(0x01 || left || right)."""
    return _sha256(b"\x01" + left + right)


def _largest_power_of_two_below(n: int) -> int:
    """k, the largest power of two strictly smaller than n (n > 1), as in RFC 9162 s2.1.1."""
    assert n > 1
    k = 1
    while k * 2 < n:
        k *= 2
    return k


# --- RFC 9162 s2.1.1: Merkle Tree Hash -----------------------------------------------------------


def mth(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over leaf data, recursively, exactly as RFC 9162 s2.1.1 defines it."""
    n = len(leaves)
    if n == 0:
        return _sha256(b"")
    if n == 1:
        return hash_leaf(leaves[0])
    k = _largest_power_of_two_below(n)
    return hash_children(mth(leaves[:k]), mth(leaves[k:]))


# --- RFC 9162 s2.1.3.1: inclusion proof (audit path) generation ----------------------------------


def path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]): the inclusion proof for leaf m (0 <= m < n) in the tree of ``leaves``."""
    n = len(leaves)
    if not 0 <= m < n:
        raise ValueError(f"leaf index {m} is not in a tree of {n} leaves")
    if n == 1:
        return []
    k = _largest_power_of_two_below(n)
    if m < k:
        return [*path(m, leaves[:k]), mth(leaves[k:])]
    return [*path(m - k, leaves[k:]), mth(leaves[:k])]


# --- RFC 9162 s2.1.4.1: consistency proof generation ---------------------------------------------


def proof(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]): the consistency proof from the first m leaves to all n (0 < m <= n)."""
    n = len(leaves)
    if not 0 < m <= n:
        raise ValueError(f"no consistency proof from size {m} to size {n}")
    return _subproof(m, leaves, True)


def _subproof(m: int, leaves: Sequence[bytes], b: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if b else [mth(leaves)]
    k = _largest_power_of_two_below(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], b), mth(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), mth(leaves[:k])]


# --- RFC 9162 s2.1.3.2: verifying an inclusion proof ---------------------------------------------


def _all_hashes(*hashes: bytes) -> bool:
    return all(isinstance(h, bytes) and len(h) == HASH_SIZE for h in hashes)


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """True when ``proof`` shows leaf ``index`` (hash ``leaf_hash``) is in the tree ``root``."""
    if not _all_hashes(leaf_hash, root, *proof):
        return False
    # 1. leaf_index >= tree_size fails.
    if index < 0 or index >= size:
        return False
    # 2. fn = leaf_index, sn = tree_size - 1.
    fn, sn = index, size - 1
    # 3. r = hash.
    r = leaf_hash
    # 4. For each value p in the inclusion_path array:
    for p in proof:
        # a. If sn is 0, stop the iteration and fail.
        if sn == 0:
            return False
        # b. If LSB(fn) is set, or if fn is equal to sn:
        if fn & 1 or fn == sn:
            r = hash_children(p, r)
            # If LSB(fn) is not set, right-shift both until LSB(fn) is set or fn is 0.
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = hash_children(r, p)
        # c. Finally, right-shift both fn and sn one time.
        fn >>= 1
        sn >>= 1
    # 5. sn must be 0 and r must equal root_hash.
    return sn == 0 and r == root


# --- RFC 9162 s2.1.4.2: verifying a consistency proof --------------------------------------------


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> bool:
    """True when ``proof`` shows the tree ``root1`` of ``size1`` leaves is a prefix of ``root2``."""
    if size1 <= 0 or size1 > size2:
        return False
    if size1 == size2:
        # Nothing to hash: the roots are compared as given (as upstream does, whose vectors
        # accept equal 12-byte placeholder roots here).
        return len(proof) == 0 and root1 == root2
    if not _all_hashes(root1, root2, *proof):
        return False
    # 1. An empty consistency_path fails.
    if not proof:
        return False
    path_ = list(proof)
    # 2. If first is an exact power of 2, prepend first_hash to the consistency_path.
    if size1 & (size1 - 1) == 0:
        path_.insert(0, root1)
    # 3. fn = first - 1, sn = second - 1.
    fn, sn = size1 - 1, size2 - 1
    # 4. If LSB(fn) is set, right-shift both fn and sn equally until LSB(fn) is not set.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5. fr = sr = the first value in the consistency_path.
    fr = sr = path_[0]
    # 6. For each subsequent value c in the consistency_path:
    for c in path_[1:]:
        # a. If sn is 0, stop the iteration and fail.
        if sn == 0:
            return False
        # b. If LSB(fn) is set, or if fn is equal to sn:
        if fn & 1 or fn == sn:
            fr = hash_children(c, fr)
            sr = hash_children(c, sr)
            # If LSB(fn) is not set, right-shift both until LSB(fn) is set or fn is 0.
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = hash_children(sr, c)
        # c. Finally, right-shift both fn and sn one time.
        fn >>= 1
        sn >>= 1
    # 7. fr == first_hash, sr == second_hash and sn == 0.
    return fr == root1 and sr == root2 and sn == 0
