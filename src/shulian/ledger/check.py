"""Checking a signed checkpoint or a receipt against a verifier key, for API clients (a
mini-program) that cannot run the public verify page's in-browser checks. Same checks, same
names, same order as ``web/static/ledger-verify.js``:

``key``        the verifier key parses (``name+hash+base64``, Ed25519, its hash matches)
``receipt``    the receipt has the shape ``GET .../receipt`` answers (receipts only)
``note``       the checkpoint is a signed note: text, blank line, well-formed signature lines
``checkpoint`` the note's text is a checkpoint: origin, tree size, 32-byte root hash
``origin``     the checkpoint's origin is the key's name
``signature``  a signature by this key (its name and key hash) verifies over the text
``leaf``       the leaf is JSON for the receipt's event, at the proof's index (receipts only)
``leaf_hash``  SHA-256(0x00 || leaf) is the leaf hash the receipt states (receipts only)
``tree``       the proof is for the signed tree size and root (receipts only)
``inclusion``  RFC 9162 2.1.3.2: the proof leads from the recomputed leaf hash to the signed
               root (receipts only)

Nothing the receipt claims is trusted where it can be recomputed: inclusion starts from the
leaf's own hash and ends at the root the signature covers. A check whose input could not be read
(no checkpoint text to parse, say) is left out, and the one that failed says why.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from pydantic import ValidationError

from shulian.ledger import merkle
from shulian.ledger.note import DASH, Checkpoint, NoteError, Verifier
from shulian.ledger.schemas import EventReceipt, VerifyCheck, VerifyResult

SIGNATURE_BYTES = 4 + 64  # key hash, then the Ed25519 signature


class _Checks:
    def __init__(self) -> None:
        self.items: list[VerifyCheck] = []

    def ok(self, name: str, detail: str) -> None:
        self.items.append(VerifyCheck(name=name, ok=True, detail=detail))

    def fail(self, name: str, detail: str) -> None:
        self.items.append(VerifyCheck(name=name, ok=False, detail=detail))


Signature = tuple[int, str, bytes, bytes]  # (line number, name, key hash, signature)


def _split(note: str) -> tuple[str, list[Signature]]:
    """The note's text and its signature lines, numbered as an editor numbers them.

    Raises: NoteError naming the line that is wrong.
    """
    head, sep, tail = note.rpartition("\n\n")
    if not sep or not head:
        raise NoteError("not a signed note: no blank line before the signature lines")
    first = head.count("\n") + 3  # the line after the blank one
    lines = tail.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    sigs: list[Signature] = []
    for n, line in enumerate(lines, start=first):
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != DASH or not parts[1]:
            raise NoteError(f"line {n}: not a signature line ({DASH} name signature)")
        try:
            raw = base64.b64decode(parts[2], validate=True)
        except binascii.Error:
            raise NoteError(f"line {n}: the signature is not base64") from None
        if len(raw) != SIGNATURE_BYTES:
            raise NoteError(
                f"line {n}: the signature is {len(raw)} bytes, not {SIGNATURE_BYTES} "
                "(key hash and Ed25519 signature)"
            )
        sigs.append((n, parts[1], raw[:4], raw[4:]))
    if not sigs:
        raise NoteError("the note carries no signature")
    return head + "\n", sigs


def _signature(checks: _Checks, text: str, sigs: list[Signature], verifier: Verifier) -> None:
    mine = [s for s in sigs if s[1] == verifier.name]
    if not mine:
        names = ", ".join(sorted({s[1] for s in sigs}))
        checks.fail("signature", f"wrong key: no signature by {verifier.name} (signed by {names})")
        return
    matching = [s for s in mine if s[2] == verifier.hash]
    if not matching:
        n, _, khash, _ = mine[0]
        checks.fail(
            "signature",
            f"wrong key: line {n} is signed with key hash {khash.hex()}, "
            f"the key's hash is {verifier.hash.hex()}",
        )
        return
    for n, _, _, sig in matching:
        if verifier.check(text, sig):
            checks.ok("signature", f"line {n}: Ed25519 signature by {verifier.name} verifies")
            return
    checks.fail(
        "signature",
        f"bad signature: line {matching[0][0]} does not verify over the checkpoint text",
    )


def _hash(value: str, what: str) -> bytes:
    """A hex hash of 32 bytes. Raises: ValueError naming ``what`` is wrong."""
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise ValueError(f"{what} is not hex") from None
    if len(raw) != merkle.HASH_SIZE:
        raise ValueError(f"{what} is {len(raw)} bytes, not {merkle.HASH_SIZE}")
    return raw


def _receipt(checks: _Checks, given: Any) -> EventReceipt | None:
    try:
        doc = json.loads(given) if isinstance(given, str) else given
        receipt = EventReceipt.model_validate(doc)
    except json.JSONDecodeError as exc:
        checks.fail("receipt", f"the receipt is not JSON: {exc.msg} (line {exc.lineno})")
        return None
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "receipt"
        checks.fail("receipt", f"the receipt's {where} is wrong: {err['msg']}")
        return None
    checks.ok("receipt", f"receipt for event {receipt.event_seq}, leaf {receipt.proof.index}")
    return receipt


def _leaf(checks: _Checks, receipt: EventReceipt) -> dict[str, Any] | None:
    try:
        doc = json.loads(receipt.leaf.data)
    except json.JSONDecodeError as exc:
        checks.fail("leaf", f"the leaf is not JSON: {exc.msg}")
        return None
    if not isinstance(doc, dict):
        checks.fail("leaf", "the leaf is not a JSON object")
        return None
    if doc.get("seq") != receipt.event_seq or receipt.leaf.event_seq != receipt.event_seq:
        checks.fail(
            "leaf", f"the leaf is event {doc.get('seq')}, the receipt is for {receipt.event_seq}"
        )
    elif receipt.leaf.index != receipt.proof.index:
        checks.fail(
            "leaf",
            f"the leaf is at index {receipt.leaf.index}, the proof at {receipt.proof.index}",
        )
    else:
        checks.ok(
            "leaf", f"event {receipt.event_seq} ({doc.get('type')}) at leaf {receipt.proof.index}"
        )
    return doc


def _leaf_hash(checks: _Checks, receipt: EventReceipt) -> bytes:
    computed = merkle.leaf_hash(receipt.leaf.data.encode())
    try:
        for what, value in (
            ("the leaf's leaf_hash", receipt.leaf.leaf_hash),
            ("the proof's leaf_hash", receipt.proof.leaf_hash),
        ):
            if _hash(value, what) != computed:
                checks.fail(
                    "leaf_hash",
                    f"leaf hash mismatch: the leaf's bytes hash to {computed.hex()}, "
                    f"{what} is {value}",
                )
                return computed
    except ValueError as exc:
        checks.fail("leaf_hash", str(exc))
        return computed
    checks.ok("leaf_hash", f"SHA-256(0x00 || leaf) = {computed.hex()}")
    return computed


def _tree(checks: _Checks, receipt: EventReceipt, cp: Checkpoint) -> None:
    if receipt.proof.tree_size != cp.size:
        checks.fail(
            "tree",
            f"the proof is for a tree of {receipt.proof.tree_size} leaves, "
            f"the checkpoint signs {cp.size}",
        )
    elif receipt.proof.root_hash.lower() != cp.root.hex():
        checks.fail(
            "tree",
            f"root mismatch: the proof states root {receipt.proof.root_hash}, "
            f"the checkpoint signs {cp.root.hex()}",
        )
    else:
        checks.ok("tree", f"tree of {cp.size} leaves, root {cp.root.hex()}")


def _inclusion(checks: _Checks, receipt: EventReceipt, cp: Checkpoint, leaf_hash: bytes) -> None:
    try:
        proof = [_hash(p, f"proof element {i}") for i, p in enumerate(receipt.proof.proof)]
        merkle.verify_inclusion(
            leaf_hash=leaf_hash, index=receipt.proof.index, size=cp.size, proof=proof, root=cp.root
        )
    except merkle.ProofError as exc:
        text = str(exc)
        if text == "proof does not lead to the root hash":
            text = "root mismatch: the proof does not lead to the signed root"
        checks.fail("inclusion", text)
    except ValueError as exc:
        checks.fail("inclusion", str(exc))
    else:
        checks.ok(
            "inclusion",
            f"leaf {receipt.proof.index} is in the signed tree of {cp.size} leaves "
            f"({len(proof)} proof hashes)",
        )


def verify(*, key: str, checkpoint: str | None = None, receipt: Any = None) -> VerifyResult:
    """Check ``checkpoint`` (a signed note) or ``receipt`` (an ``EventReceipt`` as JSON text or
    data) against the verifier key ``key``; every check says what passed or what failed."""
    checks = _Checks()
    verifier: Verifier | None = None
    try:
        verifier = Verifier.parse(key)
        checks.ok("key", f"Ed25519 key {verifier.name}, key hash {verifier.hash.hex()}")
    except NoteError as exc:
        checks.fail("key", str(exc))
    parsed: EventReceipt | None = None
    if receipt is not None:
        parsed = _receipt(checks, receipt)
        checkpoint = parsed.checkpoint if parsed else None
    cp: Checkpoint | None = None
    event: dict[str, Any] | None = None
    if checkpoint is not None:
        try:
            text, sigs = _split(checkpoint.replace("\r\n", "\n"))
        except NoteError as exc:
            checks.fail("note", str(exc))
        else:
            checks.ok("note", f"signed note with {len(sigs)} signature line(s)")
            try:
                cp = Checkpoint.parse_text(text)
            except NoteError as exc:
                checks.fail("checkpoint", str(exc))
            else:
                checks.ok("checkpoint", f"{cp.origin}, {cp.size} leaves, root {cp.root.hex()}")
            if verifier is not None:
                if cp is not None:
                    if cp.origin == verifier.name:
                        checks.ok("origin", f"origin {cp.origin} is the key's name")
                    else:
                        checks.fail(
                            "origin",
                            f"wrong key: the checkpoint's origin {cp.origin} "
                            f"is not the key's name {verifier.name}",
                        )
                _signature(checks, text, sigs, verifier)
    if parsed is not None:
        event = _leaf(checks, parsed)
        leaf_hash = _leaf_hash(checks, parsed)
        if cp is not None:
            _tree(checks, parsed, cp)
            _inclusion(checks, parsed, cp, leaf_hash)
    return VerifyResult(
        ok=bool(checks.items) and all(c.ok for c in checks.items),
        checks=checks.items,
        origin=cp.origin if cp else None,
        tree_size=cp.size if cp else None,
        root_hash=cp.root.hex() if cp else None,
        event=event,
    )
