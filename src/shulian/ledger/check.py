"""Checking a signed checkpoint or a receipt against a verifier key, for API clients (a
mini-program) that cannot run the public verify page's in-browser checks. Same checks, names,
order and message codes as ``web/static/ledger-verify.js``:

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

Each outcome is a code of ``MESSAGES``: ``detail`` is its English text (stable, for programs),
``message`` the same in the caller's language; the verify page gets the same texts by code.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from shulian.core import i18n
from shulian.ledger import merkle
from shulian.ledger.note import ALG_ED25519, DASH, Checkpoint, Verifier
from shulian.ledger.schemas import EventReceipt, VerifyCheck, VerifyResult

ED25519_BYTES = 64
# A key hash and at least one byte of signature. Lines of other kinds share a note (a witness's
# cosignature: key ID, timestamp, signature) and are skipped, as C2SP asks of a verifier.
MIN_SIGNATURE_BYTES = 5

MESSAGES: dict[str, str] = {
    "key_ok": "Ed25519 key {name}, key hash {hash}",
    "key_malformed": "the key is not name+hash+key data in base64",
    "key_not_ed25519": "the key is not an Ed25519 key",
    "key_hash_mismatch": "the key's hash does not match its name and key",
    "receipt_ok": "a receipt for event {seq}, leaf {index}",
    "receipt_not_json": "the receipt is not JSON: {error}",
    "receipt_field": "the receipt's {field} is missing or of the wrong kind",
    "note_ok": "a signed note with {count} signature line(s)",
    "note_no_blank": "not a signed note: no blank line before the signature lines",
    "note_bad_line": "line {line}: not a signature line (\u2014 name signature)",
    "note_bad_base64": "line {line}: the signature is not base64",
    "note_bad_length": "line {line}: the signature is {bytes} bytes, too short for a key hash "
    "and a signature",
    "note_unsigned": "the note carries no signature",
    "checkpoint_ok": "{origin}, {size} leaves, root {root}",
    "cp_lines": "a checkpoint needs origin, tree size and root hash lines",
    "cp_origin": "line 1: the origin is empty",
    "cp_size": "line 2: tree size {value} is not a number",
    "cp_root_base64": "line 3: the root hash is not base64",
    "cp_root_length": "line 3: the root hash is {bytes} bytes, not 32",
    "origin_ok": "the origin {origin} is the key's name",
    "origin_wrong": "wrong key: the checkpoint's origin {origin} is not the key's name {name}",
    "sig_ok": "line {line}: the Ed25519 signature by {name} verifies",
    "sig_no_key": "wrong key: no signature by {name} (signed by {names})",
    "sig_wrong_hash": "wrong key: line {line} is signed with key hash {hash}, the key's hash "
    "is {key}",
    "sig_bad": "bad signature: line {line} does not verify over the checkpoint text",
    "sig_unsupported": "this browser cannot check Ed25519 signatures",  # the page only
    "leaf_ok": "event {seq} ({type}) at leaf {index}",
    "leaf_not_json": "the leaf is not JSON",
    "leaf_not_object": "the leaf is not a JSON object",
    "leaf_wrong_event": "the leaf is event {seq}, the receipt is for event {expected}",
    "leaf_wrong_index": "the leaf is at index {leaf}, the proof at index {proof}",
    "leaf_hash_ok": "SHA-256(0x00 || leaf) = {hash}",
    "leaf_hash_mismatch": "leaf hash mismatch: the leaf's bytes hash to {computed}, {what} "
    "is {stated}",
    "hash_not_hex": "{what} is not hex",
    "hash_length": "{what} is {bytes} bytes, not 32",
    "what_leaf": "the leaf's leaf_hash",
    "what_proof": "the proof's leaf_hash",
    "what_element": "proof element {n}",
    "tree_ok": "a tree of {size} leaves, root {root}",
    "tree_size_mismatch": "the proof is for a tree of {proof} leaves, the checkpoint signs {size}",
    "tree_root_mismatch": "root mismatch: the proof states root {proof}, the checkpoint signs "
    "{root}",
    "incl_ok": "leaf {index} is in the signed tree of {size} leaves ({count} proof hashes)",
    "incl_index": "leaf index {index} is outside a tree of {size} leaves",
    "incl_long": "the proof is longer than the tree is deep",
    "incl_short": "the proof is shorter than the tree is deep",
    "incl_root": "root mismatch: the proof does not lead to the signed root",
}
# merkle.verify_inclusion's findings, as codes (index range and hash sizes are checked before).
_PROOF_ERRORS = {
    "proof is longer than the tree is deep": "incl_long",
    "proof is shorter than the tree is deep": "incl_short",
    "proof does not lead to the root hash": "incl_root",
}


@dataclass(frozen=True)
class Msg:
    """A message code and its parameters; a parameter may be a ``Msg`` itself."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def text(self, translate: bool) -> str:
        template = MESSAGES[self.code]
        if translate:
            template = i18n.gettext(template)
        params = {k: v.text(translate) if isinstance(v, Msg) else v for k, v in self.params.items()}
        return template.format(**params)


class Failed(ValueError):
    def __init__(self, code: str, **params: Any) -> None:
        self.msg = Msg(code, params)
        super().__init__(self.msg.text(False))


class _Checks:
    def __init__(self) -> None:
        self.items: list[VerifyCheck] = []

    def add(self, name: str, ok: bool, msg: Msg) -> None:
        self.items.append(
            VerifyCheck(
                name=name, ok=ok, code=msg.code, detail=msg.text(False), message=msg.text(True)
            )
        )

    def ok(self, check: str, code: str, **params: Any) -> None:
        self.add(check, True, Msg(code, params))

    def failed(self, check: str, exc: Failed) -> None:
        self.add(check, False, exc.msg)


# --- formats -------------------------------------------------------------------------------


def _b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)  # raises binascii.Error


def parse_key(vkey: str) -> Verifier:
    """Raises: Failed (key_malformed, key_not_ed25519, key_hash_mismatch)."""
    name, plus, rest = vkey.strip().partition("+")
    hash_hex, plus2, data = rest.partition("+")
    if not plus or not plus2:
        raise Failed("key_malformed")
    try:
        raw = _b64(data)
    except binascii.Error:
        raise Failed("key_malformed") from None
    if not name or len(raw) != 33 or raw[:1] != ALG_ED25519:
        raise Failed("key_not_ed25519")
    verifier = Verifier(name=name, public=raw[1:])
    if verifier.hash.hex() != hash_hex:
        raise Failed("key_hash_mismatch")
    return verifier


Signature = tuple[int, str, bytes, bytes]  # (line number, name, key hash, signature)


def split_note(note: str) -> tuple[str, list[Signature]]:
    """The note's text and its signature lines, numbered as an editor numbers them.

    Raises: Failed naming the line that is wrong.
    """
    head, sep, tail = note.rpartition("\n\n")
    if not sep or not head:
        raise Failed("note_no_blank")
    first = head.count("\n") + 3  # the line after the blank one
    lines = tail.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    sigs: list[Signature] = []
    for n, line in enumerate(lines, start=first):
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != DASH or not parts[1]:
            raise Failed("note_bad_line", line=n)
        try:
            raw = _b64(parts[2])
        except binascii.Error:
            raise Failed("note_bad_base64", line=n) from None
        if len(raw) < MIN_SIGNATURE_BYTES:
            raise Failed("note_bad_length", line=n, bytes=len(raw))
        sigs.append((n, parts[1], raw[:4], raw[4:]))
    if not sigs:
        raise Failed("note_unsigned")
    return head + "\n", sigs


def parse_checkpoint(text: str) -> Checkpoint:
    """Raises: Failed naming the line that is wrong."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise Failed("cp_lines")
    origin, size, root_text = lines[0], lines[1], lines[2]
    if not origin:
        raise Failed("cp_origin")
    if not (size.isascii() and size.isdigit()) or (size != "0" and size.startswith("0")):
        raise Failed("cp_size", value=size[:30])
    try:
        root = _b64(root_text)
    except binascii.Error:
        raise Failed("cp_root_base64") from None
    if len(root) != merkle.HASH_SIZE:
        raise Failed("cp_root_length", bytes=len(root))
    return Checkpoint(origin=origin, size=int(size), root=root)


def _hash(value: str, what: Msg) -> bytes:
    """A hex hash of 32 bytes. Raises: Failed (hash_not_hex, hash_length)."""
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise Failed("hash_not_hex", what=what) from None
    if len(raw) != merkle.HASH_SIZE:
        raise Failed("hash_length", what=what, bytes=len(raw))
    return raw


# --- the checks ----------------------------------------------------------------------------


def _signature(text: str, sigs: list[Signature], verifier: Verifier) -> int:
    """The line of a valid signature by ``verifier``. Raises: Failed."""
    mine = [s for s in sigs if s[1] == verifier.name]
    if not mine:
        names = ", ".join(sorted({s[1] for s in sigs}))
        raise Failed("sig_no_key", name=verifier.name, names=names)
    matching = [s for s in mine if s[2] == verifier.hash]
    if not matching:
        raise Failed(
            "sig_wrong_hash", line=mine[0][0], hash=mine[0][2].hex(), key=verifier.hash.hex()
        )
    for n, _, _, sig in matching:
        if len(sig) == ED25519_BYTES and verifier.check(text, sig):
            return n
    raise Failed("sig_bad", line=matching[0][0])


def _receipt(given: Any) -> EventReceipt:
    try:
        doc = json.loads(given) if isinstance(given, str) else given
        return EventReceipt.model_validate(doc)
    except json.JSONDecodeError as exc:
        raise Failed("receipt_not_json", error=f"{exc.msg} (line {exc.lineno})") from None
    except ValidationError as exc:
        where = ".".join(str(p) for p in exc.errors()[0]["loc"])
        raise Failed("receipt_field", field=where or "receipt") from None


def _leaf(receipt: EventReceipt) -> dict[str, Any]:
    try:
        doc = json.loads(receipt.leaf.data)
    except json.JSONDecodeError:
        raise Failed("leaf_not_json") from None
    if not isinstance(doc, dict):
        raise Failed("leaf_not_object")
    if doc.get("seq") != receipt.event_seq or receipt.leaf.event_seq != receipt.event_seq:
        raise Failed("leaf_wrong_event", seq=str(doc.get("seq")), expected=receipt.event_seq)
    if receipt.leaf.index != receipt.proof.index:
        raise Failed("leaf_wrong_index", leaf=receipt.leaf.index, proof=receipt.proof.index)
    return doc


def _leaf_hash(receipt: EventReceipt, computed: bytes) -> None:
    for what, value in (
        (Msg("what_leaf"), receipt.leaf.leaf_hash),
        (Msg("what_proof"), receipt.proof.leaf_hash),
    ):
        if _hash(value, what) != computed:
            raise Failed("leaf_hash_mismatch", computed=computed.hex(), what=what, stated=value)


def _tree(receipt: EventReceipt, cp: Checkpoint) -> None:
    if receipt.proof.tree_size != cp.size:
        raise Failed("tree_size_mismatch", proof=receipt.proof.tree_size, size=cp.size)
    if receipt.proof.root_hash.lower() != cp.root.hex():
        raise Failed("tree_root_mismatch", proof=receipt.proof.root_hash, root=cp.root.hex())


def _inclusion(receipt: EventReceipt, cp: Checkpoint, leaf_hash: bytes) -> int:
    """How many proof hashes led to the signed root. Raises: Failed."""
    index = receipt.proof.index
    if not 0 <= index < cp.size:
        raise Failed("incl_index", index=index, size=cp.size)
    proof = [_hash(p, Msg("what_element", {"n": i})) for i, p in enumerate(receipt.proof.proof)]
    try:
        merkle.verify_inclusion(
            leaf_hash=leaf_hash, index=index, size=cp.size, proof=proof, root=cp.root
        )
    except merkle.ProofError as exc:
        raise Failed(_PROOF_ERRORS.get(str(exc), "incl_root")) from None
    return len(proof)


def verify(*, key: str, checkpoint: str | None = None, receipt: Any = None) -> VerifyResult:
    """Check ``checkpoint`` (a signed note) or ``receipt`` (an ``EventReceipt`` as JSON text or
    data) against the verifier key ``key``; every check says what passed or what failed."""
    checks = _Checks()
    verifier: Verifier | None = None
    parsed: EventReceipt | None = None
    cp: Checkpoint | None = None
    event: dict[str, Any] | None = None
    try:
        verifier = parse_key(key)
        checks.ok("key", "key_ok", name=verifier.name, hash=verifier.hash.hex())
    except Failed as exc:
        checks.failed("key", exc)
    if receipt is not None:
        try:
            parsed = _receipt(receipt)
            checks.ok("receipt", "receipt_ok", seq=parsed.event_seq, index=parsed.proof.index)
        except Failed as exc:
            checks.failed("receipt", exc)
        checkpoint = parsed.checkpoint if parsed else None
    if checkpoint is not None:
        try:
            text, sigs = split_note(checkpoint.replace("\r\n", "\n"))
            checks.ok("note", "note_ok", count=len(sigs))
        except Failed as exc:
            checks.failed("note", exc)
        else:
            try:
                cp = parse_checkpoint(text)
                checks.ok(
                    "checkpoint",
                    "checkpoint_ok",
                    origin=cp.origin,
                    size=cp.size,
                    root=cp.root.hex(),
                )
            except Failed as exc:
                checks.failed("checkpoint", exc)
            if verifier is not None and cp is not None:
                if cp.origin == verifier.name:
                    checks.ok("origin", "origin_ok", origin=cp.origin)
                else:
                    checks.failed(
                        "origin", Failed("origin_wrong", origin=cp.origin, name=verifier.name)
                    )
            if verifier is not None:
                try:
                    line = _signature(text, sigs, verifier)
                    checks.ok("signature", "sig_ok", line=line, name=verifier.name)
                except Failed as exc:
                    checks.failed("signature", exc)
    if parsed is not None:
        try:
            event = _leaf(parsed)
            checks.ok(
                "leaf",
                "leaf_ok",
                seq=parsed.event_seq,
                type=event.get("type"),
                index=parsed.proof.index,
            )
        except Failed as exc:
            checks.failed("leaf", exc)
        computed = merkle.leaf_hash(parsed.leaf.data.encode())
        try:
            _leaf_hash(parsed, computed)
            checks.ok("leaf_hash", "leaf_hash_ok", hash=computed.hex())
        except Failed as exc:
            checks.failed("leaf_hash", exc)
        if cp is not None:
            try:
                _tree(parsed, cp)
                checks.ok("tree", "tree_ok", size=cp.size, root=cp.root.hex())
            except Failed as exc:
                checks.failed("tree", exc)
            try:
                count = _inclusion(parsed, cp, computed)
                checks.ok(
                    "inclusion", "incl_ok", index=parsed.proof.index, size=cp.size, count=count
                )
            except Failed as exc:
                checks.failed("inclusion", exc)
    return VerifyResult(
        ok=bool(checks.items) and all(c.ok for c in checks.items),
        checks=checks.items,
        origin=cp.origin if cp else None,
        tree_size=cp.size if cp else None,
        root_hash=cp.root.hex() if cp else None,
        event=event,
    )
