"""Cosignatures in the C2SP tlog-cosignature format (cosignature/v1, Ed25519), checked against
the specification's own construction, written out here independently of the code under test."""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from shulian.ledger.cosign import (
    Cosigner,
    CosignerKey,
    add_lines,
    cosigned_message,
    load_or_create_cosigner,
)
from shulian.ledger.note import Checkpoint, NoteError, Signer, open_checkpoint

LOG = "library-b.example.org/ledger"
WITNESS = "library-a.example.org/witness"
T = 1_795_000_000


@pytest.fixture
def log() -> Signer:
    return Signer.generate(LOG)


@pytest.fixture
def witness() -> Cosigner:
    return Cosigner.generate(WITNESS)


def _note(log: Signer, size: int = 42, root: bytes = b"\x07" * 32) -> str:
    return log.sign(Checkpoint(origin=LOG, size=size, root=root).text())


def _raw(line: str) -> tuple[str, bytes]:
    dash, name, data = line.rstrip("\n").split(" ")
    assert dash == "\u2014"
    return name, base64.b64decode(data)


def _with_raw(note: str, line: str, raw: bytes) -> str:
    name, _ = _raw(line)
    return note + f"\u2014 {name} {base64.b64encode(raw).decode()}\n"


class TestFormat:
    def test_line_is_key_id_time_and_signature_over_the_spec_message(
        self, log: Signer, witness: Cosigner
    ) -> None:
        note = _note(log)
        body = Checkpoint(origin=LOG, size=42, root=b"\x07" * 32).text()
        cosig = witness.cosign(note, T)
        name, raw = _raw(cosig.line)
        assert name == WITNESS and len(raw) == 4 + 8 + 64
        public = witness.key.public
        assert raw[:4] == hashlib.sha256(WITNESS.encode() + b"\n\x04" + public).digest()[:4]
        assert int.from_bytes(raw[4:12], "big") == T
        message = f"cosignature/v1\ntime {T}\n{body}".encode()
        Ed25519PublicKey.from_public_bytes(public).verify(raw[12:], message)  # raises if wrong
        assert cosigned_message(body, T) == message

    def test_verifier_key_is_name_key_id_and_type_4_key(self, witness: Cosigner) -> None:
        vkey = witness.key.vkey
        name, kid, data = vkey.split("+", 2)
        raw = base64.b64decode(data)
        assert name == WITNESS and raw == b"\x04" + witness.key.public
        assert kid == witness.key.id.hex() and len(kid) == 8
        assert CosignerKey.parse(vkey) == witness.key

    def test_a_log_key_is_not_a_witness_key(self, log: Signer) -> None:
        with pytest.raises(NoteError, match="not a witness key"):
            CosignerKey.parse(log.verifier.vkey)

    def test_a_key_whose_id_does_not_match_is_refused(self, witness: Cosigner) -> None:
        name, _, data = witness.key.vkey.split("+", 2)
        with pytest.raises(NoteError, match="key ID does not match"):
            CosignerKey.parse(f"{name}+00000000+{data}")

    def test_cosigned_note_still_opens_with_the_log_key_alone(
        self, log: Signer, witness: Cosigner
    ) -> None:
        note = _note(log)
        cosigned = add_lines(note, [witness.cosign(note, T).line])
        assert open_checkpoint(cosigned, log.verifier).size == 42
        found = witness.key.verify(cosigned)
        assert found.witness == WITNESS and found.timestamp == T

    def test_adding_a_line_twice_keeps_one(self, log: Signer, witness: Cosigner) -> None:
        note = _note(log)
        line = witness.cosign(note, T).line
        assert add_lines(add_lines(note, [line]), [line]).count(line) == 1


class TestRejects:
    def test_forged_cosignature(self, log: Signer, witness: Cosigner) -> None:
        note = _note(log)
        line = witness.cosign(note, T).line
        _, raw = _raw(line)
        forged = raw[:20] + bytes([raw[20] ^ 1]) + raw[21:]
        with pytest.raises(NoteError, match="does not verify"):
            witness.key.verify(_with_raw(note, line, forged))

    def test_cosignature_by_another_key_under_the_same_name(
        self, log: Signer, witness: Cosigner
    ) -> None:
        note = _note(log)
        impostor = Cosigner.generate(WITNESS)
        cosigned = add_lines(note, [impostor.cosign(note, T).line])
        with pytest.raises(NoteError, match="not made with its trusted key"):
            witness.key.verify(cosigned)

    def test_wrong_timestamp(self, log: Signer, witness: Cosigner) -> None:
        note = _note(log)
        line = witness.cosign(note, T).line
        _, raw = _raw(line)
        later = raw[:4] + (T + 3600).to_bytes(8, "big") + raw[12:]
        with pytest.raises(NoteError, match="does not verify"):
            witness.key.verify(_with_raw(note, line, later))

    def test_reordered_checkpoint(self, log: Signer, witness: Cosigner) -> None:
        note = _note(log)
        cosigned = add_lines(note, [witness.cosign(note, T).line])
        origin, size, root, rest = cosigned.split("\n", 3)
        reordered = "\n".join([origin, root, size, rest])
        with pytest.raises(NoteError):
            witness.key.verify(reordered)
        with pytest.raises(NoteError):
            open_checkpoint(reordered, log.verifier)

    def test_truncated_checkpoint(self, log: Signer, witness: Cosigner) -> None:
        note = _note(log)
        cosigned = add_lines(note, [witness.cosign(note, T).line])
        origin, size, _root, rest = cosigned.split("\n", 3)
        truncated = "\n".join([origin, size, rest])
        with pytest.raises(NoteError):
            witness.key.verify(truncated)
        with pytest.raises(NoteError):
            open_checkpoint(truncated, log.verifier)

    def test_cosignature_moved_to_another_checkpoint(self, log: Signer, witness: Cosigner) -> None:
        line = witness.cosign(_note(log, size=42), T).line
        with pytest.raises(NoteError, match="does not verify"):
            witness.key.verify(add_lines(_note(log, size=43), [line]))

    def test_note_without_a_cosignature(self, log: Signer, witness: Cosigner) -> None:
        with pytest.raises(NoteError, match="no cosignature of"):
            witness.key.verify(_note(log))

    def test_log_signature_is_not_a_cosignature(self, log: Signer) -> None:
        # A cosigner named like the log, using the log's signature line: wrong length, refused.
        as_witness = Cosigner.generate(LOG)
        with pytest.raises(NoteError):
            as_witness.key.verify(_note(log))


class TestWitnessKey:
    def test_created_once_owner_only_and_apart_from_the_log_key(self, tmp_path: Path) -> None:
        first = load_or_create_cosigner(tmp_path / "ledger", WITNESS)
        again = load_or_create_cosigner(tmp_path / "ledger", WITNESS)
        assert first.key == again.key
        mode = stat.S_IMODE(os.stat(tmp_path / "ledger" / "witness.key").st_mode)
        assert mode == 0o600
        assert (tmp_path / "ledger" / "witness.vkey").read_text().strip() == first.key.vkey
        assert not (tmp_path / "ledger" / "ledger.key").exists()
