"""``shulian.ledger.merkle`` against the third-party RFC 6962 / RFC 9162 vectors and against the
independent reference in ``rfc9162.py`` (which ``test_rfc9162.py`` checks against the vectors)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from shulian.ledger import merkle
from tests.ledger import rfc9162, vectors

INCLUSION = vectors.inclusion_probes()
CONSISTENCY = vectors.consistency_probes()
REF = vectors.reference_tree_8()

MAX_SIZE = 70
EXHAUSTIVE_UP_TO = 40  # every index / first size up to here; a sample of them beyond
LEAVES = [b"leaf %d" % i for i in range(MAX_SIZE)]
LEAF_HASHES = [rfc9162.hash_leaf(d) for d in LEAVES]


def make_tree(leaf_hashes: list[bytes]) -> merkle.MemoryTree:
    tree = merkle.MemoryTree()
    for i, h in enumerate(leaf_hashes):
        assert tree.append(h) == i
    assert tree.size == len(leaf_hashes)
    return tree


@pytest.fixture(scope="module")
def big_tree() -> merkle.MemoryTree:
    return make_tree(LEAF_HASHES)


def flip_bit(h: bytes, bit: int) -> bytes:
    """``h`` with one bit flipped (bit numbers wrap around the hash)."""
    bit %= 8 * len(h)
    out = bytearray(h)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def accepts(verify: Callable[..., None], **kwargs: Any) -> bool:
    """Whether a project verifier accepts; it must return None or raise ProofError, nothing else."""
    try:
        result = verify(**kwargs)
    except merkle.ProofError as e:
        assert isinstance(e, ValueError)
        assert str(e).strip(), "ProofError without a reason"
        return False
    assert result is None
    return True


def sample(n: int) -> list[int]:
    """0..n-1 in full up to EXHAUSTIVE_UP_TO; beyond, the edges, powers of two and a stride."""
    if n <= EXHAUSTIVE_UP_TO:
        return list(range(n))
    picks = {0, 1, 2, n // 2, n - 3, n - 2, n - 1, *range(3, n, 7)}
    k = 1
    while k < n:
        picks |= {k - 1, k, k + 1}
        k *= 2
    return sorted(i for i in picks if 0 <= i < n)


# --- a. the module's constants and the 8-leaf reference tree --------------------------------------


def test_constants_and_primitives() -> None:
    assert merkle.HASH_SIZE == 32
    assert hashlib.sha256(b"").digest() == merkle.EMPTY_ROOT
    assert merkle.MemoryTree().root() == merkle.EMPTY_ROOT
    assert merkle.MemoryTree().size == 0
    assert merkle.leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    left, right = b"L" * 32, b"R" * 32
    assert merkle.node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    assert merkle.node_hash(left, right) != merkle.node_hash(right, left)
    assert issubclass(merkle.ProofError, ValueError)


def test_reference_tree_8_leaf_hashes() -> None:
    assert [merkle.leaf_hash(d) for d in REF.leaf_inputs] == REF.leaf_hashes


def test_reference_tree_8_node_hashes_by_level() -> None:
    levels = REF.node_hashes_by_level
    assert levels[0] == REF.leaf_hashes
    for level in range(1, len(levels)):
        below = levels[level - 1]
        assert [
            merkle.node_hash(below[2 * i], below[2 * i + 1]) for i in range(len(below) // 2)
        ] == (levels[level])
        # Each perfect subtree is the root of a tree made of just its leaves.
        width = 1 << level
        for i, h in enumerate(levels[level]):
            assert make_tree(REF.leaf_hashes[i * width : (i + 1) * width]).root() == h


def test_reference_tree_8_roots_by_size() -> None:
    tree = make_tree(REF.leaf_hashes)
    assert [tree.root(k) for k in range(9)] == REF.roots_by_size
    assert tree.root() == REF.roots_by_size[8]
    assert tree.root(0) == merkle.EMPTY_ROOT
    # The same roots from a tree that grows one leaf at a time.
    growing = merkle.MemoryTree()
    assert growing.root() == REF.roots_by_size[0]
    for k, h in enumerate(REF.leaf_hashes, start=1):
        growing.append(h)
        assert (growing.size, growing.root()) == (k, REF.roots_by_size[k])


def test_reference_tree_8_proofs_match_the_valid_probes() -> None:
    tree = make_tree(REF.leaf_hashes)
    checked = 0
    for p in INCLUSION:
        if not p.want_err and p.size <= 8 and p.root == REF.roots_by_size[p.size]:
            assert tree.inclusion_proof(p.index, p.size) == p.proof, p.file
            checked += 1
    for c in CONSISTENCY:
        if not c.want_err and c.size2 <= 8 and c.root2 == REF.roots_by_size[c.size2]:
            assert tree.consistency_proof(c.size1, c.size2) == c.proof, c.file
            checked += 1
    assert checked >= 8


# --- b. every RFC 9162 probe of the vectors -------------------------------------------------------


@pytest.mark.parametrize("probe", INCLUSION, ids=lambda p: vectors.probe_id(p.file))
def test_inclusion_probe(probe: vectors.InclusionProbe) -> None:
    ok = accepts(
        merkle.verify_inclusion,
        leaf_hash=probe.leaf_hash,
        index=probe.index,
        size=probe.size,
        proof=probe.proof,
        root=probe.root,
    )
    assert ok is (not probe.want_err), probe.desc


@pytest.mark.parametrize("probe", CONSISTENCY, ids=lambda p: vectors.probe_id(p.file))
def test_consistency_probe(probe: vectors.ConsistencyProbe) -> None:
    ok = accepts(
        merkle.verify_consistency,
        first=probe.size1,
        second=probe.size2,
        first_root=probe.root1,
        second_root=probe.root2,
        proof=probe.proof,
    )
    assert ok is (not probe.want_err), probe.desc


@pytest.mark.parametrize("size", [1, 2, 5, 8])
def test_consistency_between_equal_sizes(size: int) -> None:
    root = make_tree(LEAF_HASHES[:size]).root()
    kw: dict[str, Any] = {"first": size, "second": size, "first_root": root, "second_root": root}
    assert accepts(merkle.verify_consistency, **kw, proof=[])
    assert not accepts(merkle.verify_consistency, **kw, proof=[root])
    assert not accepts(
        merkle.verify_consistency, **{**kw, "second_root": flip_bit(root, 3)}, proof=[]
    )
    assert not accepts(merkle.verify_consistency, **{**kw, "second_root": root[:31]}, proof=[])


# --- c. cross-check against the independent reference ---------------------------------------------


@pytest.mark.parametrize("n", range(1, MAX_SIZE + 1))
def test_cross_check(n: int, big_tree: merkle.MemoryTree) -> None:
    leaves = LEAVES[:n]
    tree = make_tree(LEAF_HASHES[:n])
    root = rfc9162.mth(leaves)
    assert tree.root() == root
    assert tree.root(n) == root
    assert big_tree.root(n) == root

    for m in sample(n):
        want = rfc9162.path(m, leaves)
        got = tree.inclusion_proof(m, n)
        assert got == want, ("inclusion", m, n)
        assert big_tree.inclusion_proof(m, n) == want, ("inclusion from a larger tree", m, n)
        assert rfc9162.verify_inclusion(LEAF_HASHES[m], m, n, got, root)
        assert (
            merkle.verify_inclusion(leaf_hash=LEAF_HASHES[m], index=m, size=n, proof=got, root=root)
            is None
        )

    for m in (m + 1 for m in sample(n)):
        want = rfc9162.proof(m, leaves)
        got = tree.consistency_proof(m, n)
        assert got == want, ("consistency", m, n)
        assert big_tree.consistency_proof(m, n) == want, ("consistency from a larger tree", m, n)
        first_root = rfc9162.mth(leaves[:m])
        assert tree.root(m) == first_root
        assert rfc9162.verify_consistency(m, n, first_root, root, got)
        assert (
            merkle.verify_consistency(
                first=m, second=n, first_root=first_root, second_root=root, proof=got
            )
            is None
        )


# --- d. tampered proofs ---------------------------------------------------------------------------

TAMPER_SIZES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 15, 16, 17, 31, 32, 33, 45]


def tampered(proof: list[bytes], seed: int) -> Iterator[tuple[str, list[bytes]]]:
    """Every one-bit flip position class, every drop, and appended elements."""
    for i in range(len(proof)):
        yield f"flip element {i}", [*proof[:i], flip_bit(proof[i], 37 * i + seed), *proof[i + 1 :]]
        yield f"drop element {i}", proof[:i] + proof[i + 1 :]
        yield f"duplicate element {i}", [*proof[: i + 1], *proof[i:]]
    yield "append a hash", [*proof, LEAF_HASHES[seed % MAX_SIZE]]
    yield "append zeros", [*proof, bytes(32)]
    yield "prepend a hash", [LEAF_HASHES[-1], *proof]
    if proof:
        yield "reverse", proof[::-1] if len(proof) > 1 else [flip_bit(proof[0], seed)]
        yield "truncate an element", [*proof[:-1], proof[-1][:31]]
        yield "extend an element", [*proof[:-1], proof[-1] + b"\x00"]


@pytest.mark.parametrize("n", TAMPER_SIZES)
def test_tampered_inclusion_proofs_are_rejected(n: int, big_tree: merkle.MemoryTree) -> None:
    root = big_tree.root(n)
    for m in range(n):
        leaf = LEAF_HASHES[m]
        good = big_tree.inclusion_proof(m, n)
        kw: dict[str, Any] = {"leaf_hash": leaf, "index": m, "size": n, "proof": good, "root": root}
        assert accepts(merkle.verify_inclusion, **kw)

        for what, bad in tampered(good, m):
            if bad == good:
                continue
            assert not rfc9162.verify_inclusion(leaf, m, n, bad, root), what  # sanity
            assert not accepts(merkle.verify_inclusion, **{**kw, "proof": bad}), (what, m, n)

        for what, change in [
            ("leaf hash bit", {"leaf_hash": flip_bit(leaf, m)}),
            ("root bit", {"root": flip_bit(root, 255 - m)}),
            ("short root", {"root": root[:31]}),
            ("long leaf hash", {"leaf_hash": leaf + b"\x00"}),
            ("another leaf", {"leaf_hash": LEAF_HASHES[m + 1]}),
            ("index = size", {"index": n}),
            ("index past size", {"index": n + 1}),
            ("size 0", {"size": 0, "index": 0}),
        ]:
            assert not accepts(merkle.verify_inclusion, **{**kw, **change}), (what, m, n)

        # Wrong index or size: a few of these are valid proofs of something else (e.g. a smaller
        # tree whose last leaf is an interior node), so the project must agree with the reference.
        for index, size in [(m - 1, n), (m + 1, n), (m, n - 1), (m, n + 1), (m, 2 * n)]:
            if index < 0:
                continue
            want = rfc9162.verify_inclusion(leaf, index, size, good, root)
            got = accepts(merkle.verify_inclusion, **{**kw, "index": index, "size": size})
            assert got is want, ("index/size", index, size, "for", m, n)
            if (index, size) in [(m - 1, n), (m + 1, n)]:
                assert not got  # another index of the same tree never shares a proof


@pytest.mark.parametrize("n", TAMPER_SIZES)
def test_tampered_consistency_proofs_are_rejected(n: int, big_tree: merkle.MemoryTree) -> None:
    second_root = big_tree.root(n)
    for m in range(1, n + 1):
        first_root = big_tree.root(m)
        good = big_tree.consistency_proof(m, n)
        kw: dict[str, Any] = {
            "first": m,
            "second": n,
            "first_root": first_root,
            "second_root": second_root,
            "proof": good,
        }
        assert accepts(merkle.verify_consistency, **kw)

        for what, bad in tampered(good, m):
            if bad == good:
                continue
            assert not rfc9162.verify_consistency(m, n, first_root, second_root, bad), what
            assert not accepts(merkle.verify_consistency, **{**kw, "proof": bad}), (what, m, n)

        for what, change in [
            ("first root bit", {"first_root": flip_bit(first_root, m)}),
            ("second root bit", {"second_root": flip_bit(second_root, 255 - m)}),
            ("short first root", {"first_root": first_root[:31]}),
            ("long second root", {"second_root": second_root + b"\x00"}),
            ("first = 0", {"first": 0, "first_root": merkle.EMPTY_ROOT}),
            ("first > second", {"first": n + 1}),
            ("second < first", {"second": m - 1}),
        ]:
            assert not accepts(merkle.verify_consistency, **{**kw, **change}), (what, m, n)
        if m < n:
            swapped = {"first_root": second_root, "second_root": first_root}
            assert not accepts(merkle.verify_consistency, **{**kw, **swapped}), ("swap", m, n)

        for first, second in [(m - 1, n), (m + 1, n), (m, n - 1), (m, n + 1), (m, 2 * n)]:
            if not 0 < first <= second:
                continue
            want = rfc9162.verify_consistency(first, second, first_root, second_root, good)
            got = accepts(merkle.verify_consistency, **{**kw, "first": first, "second": second})
            assert got is want, ("sizes", first, second, "for", m, n)


# --- the tree's own argument checks ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "size"), [(3, 3), (8, 8), (0, 9), (8, 9), (0, 0), (9, 8)], ids=str
)
def test_inclusion_proof_bad_arguments(index: int, size: int) -> None:
    tree = make_tree(REF.leaf_hashes)
    with pytest.raises(merkle.ProofError):
        tree.inclusion_proof(index, size)


@pytest.mark.parametrize(
    ("first", "second"), [(5, 4), (8, 7), (0, 4), (0, 0), (4, 9), (9, 9), (1, 100)], ids=str
)
def test_consistency_proof_bad_arguments(first: int, second: int) -> None:
    tree = make_tree(REF.leaf_hashes)
    with pytest.raises(merkle.ProofError):
        tree.consistency_proof(first, second)


def test_consistency_proof_between_equal_sizes_is_empty() -> None:
    tree = make_tree(REF.leaf_hashes)
    for k in range(1, 9):
        assert tree.consistency_proof(k, k) == []


def test_verifiers_take_keyword_arguments_only() -> None:
    leaf = REF.leaf_hashes[0]
    with pytest.raises(TypeError):
        merkle.verify_inclusion(leaf, 0, 1, [], leaf)  # type: ignore[misc]
    with pytest.raises(TypeError):
        merkle.verify_consistency(1, 1, leaf, leaf, [])  # type: ignore[misc]
