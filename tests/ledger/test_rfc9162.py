"""The independent RFC 9162 reference (``rfc9162.py``) against the third-party vectors.

These tests need nothing from the project: they establish that the reference used to check
``shulian.ledger.merkle`` is itself right.
"""

from __future__ import annotations

import hashlib

import pytest

from tests.ledger import rfc9162, vectors

INCLUSION = vectors.inclusion_probes()
CONSISTENCY = vectors.consistency_probes()
REF = vectors.reference_tree_8()


def test_vectors_are_complete() -> None:
    assert len(INCLUSION) == 98
    assert len(CONSISTENCY) == 98
    ids = [vectors.probe_id(p.file) for p in INCLUSION + CONSISTENCY]
    assert len(set(ids)) == len(ids)
    # Both outcomes are represented, so a verifier that always says yes (or no) fails.
    assert {p.want_err for p in INCLUSION} == {True, False}
    assert {p.want_err for p in CONSISTENCY} == {True, False}
    assert len(REF.leaf_inputs) == 8
    assert len(REF.roots_by_size) == 9


def test_hashing_primitives() -> None:
    assert rfc9162.mth([]) == hashlib.sha256(b"").digest()
    assert rfc9162.hash_leaf(b"") == bytes.fromhex(
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    assert (
        rfc9162.hash_children(b"a" * 32, b"b" * 32)
        == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    )


def test_reference_tree_8() -> None:
    assert [rfc9162.hash_leaf(d) for d in REF.leaf_inputs] == REF.leaf_hashes
    assert [rfc9162.mth(REF.leaf_inputs[:k]) for k in range(9)] == REF.roots_by_size
    for level, hashes in enumerate(REF.node_hashes_by_level):
        width = 1 << level
        assert len(hashes) == 8 // width
        for i, h in enumerate(hashes):
            assert rfc9162.mth(REF.leaf_inputs[i * width : (i + 1) * width]) == h


@pytest.mark.parametrize("probe", INCLUSION, ids=lambda p: vectors.probe_id(p.file))
def test_inclusion_probe(probe: vectors.InclusionProbe) -> None:
    ok = rfc9162.verify_inclusion(probe.leaf_hash, probe.index, probe.size, probe.proof, probe.root)
    assert ok is (not probe.want_err), probe.desc


@pytest.mark.parametrize("probe", CONSISTENCY, ids=lambda p: vectors.probe_id(p.file))
def test_consistency_probe(probe: vectors.ConsistencyProbe) -> None:
    ok = rfc9162.verify_consistency(probe.size1, probe.size2, probe.root1, probe.root2, probe.proof)
    assert ok is (not probe.want_err), probe.desc


def test_equal_sizes_compare_the_roots_as_given() -> None:
    """Upstream's probe accepts equal 12-byte roots at equal sizes; 32-byte roots work the same."""
    name = "testdata/consistency/additional/sizes-are-equal-one-and-proof-is-empty.json"
    probe = next(c for c in CONSISTENCY if c.file == name)
    assert not probe.want_err
    assert (probe.size1, probe.size2, probe.proof, probe.root1) == (1, 1, [], probe.root2)
    assert len(probe.root1) != rfc9162.HASH_SIZE
    root = rfc9162.mth(LEAVES[:1])
    assert rfc9162.verify_consistency(1, 1, root, root, [])
    assert not rfc9162.verify_consistency(1, 1, root, root[:31], [])


def test_generators_reproduce_the_valid_probes_on_the_reference_tree() -> None:
    """Every valid probe built on the 8-leaf reference tree equals what PATH/PROOF generate."""
    leaves = REF.leaf_inputs
    checked = 0
    for p in INCLUSION:
        if not p.want_err and p.size <= 8 and p.root == REF.roots_by_size[p.size]:
            assert rfc9162.path(p.index, leaves[: p.size]) == p.proof, p.file
            checked += 1
    for c in CONSISTENCY:
        if not c.want_err and c.size2 <= 8 and c.root2 == REF.roots_by_size[c.size2]:
            assert rfc9162.proof(c.size1, leaves[: c.size2]) == c.proof, c.file
            checked += 1
    assert checked >= 8


LEAVES = [b"leaf %d" % i for i in range(40)]


def flip_bit(h: bytes, bit: int) -> bytes:
    """``h`` with one bit flipped (bit numbers wrap around the hash)."""
    bit %= 8 * len(h)
    out = bytearray(h)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def test_generated_proofs_verify_and_tampered_ones_do_not() -> None:
    for n in range(1, 41):
        tree = LEAVES[:n]
        root = rfc9162.mth(tree)
        for m in range(n):
            leaf = rfc9162.hash_leaf(tree[m])
            p = rfc9162.path(m, tree)
            assert rfc9162.verify_inclusion(leaf, m, n, p, root), (m, n)
            assert not rfc9162.verify_inclusion(leaf, m, n, [*p, leaf], root), (m, n)
            for i in range(len(p)):
                flipped = [*p[:i], flip_bit(p[i], 8 * i + m), *p[i + 1 :]]
                assert not rfc9162.verify_inclusion(leaf, m, n, flipped, root), (m, n, i)
                assert not rfc9162.verify_inclusion(leaf, m, n, p[:i] + p[i + 1 :], root)
        for m in range(1, n + 1):
            first = rfc9162.mth(tree[:m])
            c = rfc9162.proof(m, tree)
            assert rfc9162.verify_consistency(m, n, first, root, c), (m, n)
            assert not rfc9162.verify_consistency(m, n, first, root, [*c, root]), (m, n)
            for i in range(len(c)):
                flipped = [*c[:i], flip_bit(c[i], 255 - 7 * i - m), *c[i + 1 :]]
                assert not rfc9162.verify_consistency(m, n, first, root, flipped), (m, n, i)
                assert not rfc9162.verify_consistency(m, n, first, root, c[:i] + c[i + 1 :])


def test_policy_edge_cases() -> None:
    leaves = LEAVES[:5]
    root = rfc9162.mth(leaves)
    leaf = rfc9162.hash_leaf(leaves[0])
    p = rfc9162.path(0, leaves)
    assert rfc9162.verify_inclusion(leaf, 0, 5, p, root)
    assert not rfc9162.verify_inclusion(leaf, 5, 5, p, root)  # index >= size
    assert not rfc9162.verify_inclusion(leaf, -1, 5, p, root)
    assert not rfc9162.verify_inclusion(leaf[:31], 0, 5, p, root)  # hash sizes
    assert not rfc9162.verify_inclusion(leaf, 0, 5, p, root + b"\x00")
    one = rfc9162.mth(leaves[:1])
    assert rfc9162.verify_consistency(5, 5, root, root, [])  # equal sizes: empty proof, same root
    assert not rfc9162.verify_consistency(5, 5, root, root, [root])
    assert not rfc9162.verify_consistency(5, 5, one, root, [])
    assert not rfc9162.verify_consistency(0, 0, root, root, [])  # never from an empty tree
    assert not rfc9162.verify_consistency(0, 5, rfc9162.mth([]), root, [])
    assert not rfc9162.verify_consistency(5, 1, root, one, [])  # size1 > size2
    assert not rfc9162.verify_consistency(1, 5, one, root, [])  # empty proof for 1 < 5
