"""POST /api/v1/ledger/verify (``ledger.check``): a real loan's receipt and checkpoint pass every
check; each kind of tampering is rejected by the check it breaks, which says what is wrong."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from shulian.circulation import service as circ
from shulian.ledger import check
from shulian.ledger.cosign import Cosigner, add_lines
from shulian.ledger.note import Checkpoint, Signer
from tests.conftest import NOW
from tests.factories.circulation import make_library
from tests.factories.ledger import sign

URL = "/api/v1/ledger/verify"
RECEIPT_CHECKS = [
    "key",
    "receipt",
    "note",
    "checkpoint",
    "origin",
    "signature",
    "leaf",
    "leaf_hash",
    "tree",
    "inclusion",
]


def loan_receipt(session: Session, app: FastAPI, *, loans: int = 3) -> dict[str, Any]:
    """Lend ``loans`` copies through the circulation service, take the events into the ledger,
    sign a checkpoint and return the first loan's receipt as the API gives it."""
    lib = make_library(session, copies=("CEN", "B01", "CEN"))
    made = [
        circ.check_out(
            session,
            reader_id=lib.readers[i].id,
            barcode=lib.items[i].barcode,
            branch="CEN",
            actor="staff:1",
            now=NOW,
        )
        for i in range(loans)
    ]
    sign(session, app, now=NOW)
    receipt = circ.loan_receipt(session, loan_id=made[0].id, reader_id=lib.reader.id)
    return receipt.model_dump()


@pytest.fixture
def receipt(session: Session, app: FastAPI) -> dict[str, Any]:
    return loan_receipt(session, app)


def verify(client: TestClient, **body: Any) -> dict[str, Any]:
    r = client.post(URL, json=body)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


def failed(result: dict[str, Any]) -> dict[str, str]:
    assert result["ok"] is False
    return {c["name"]: c["detail"] for c in result["checks"] if not c["ok"]}


def flip(hex_value: str, at: int = 0) -> str:
    """``hex_value`` with one byte changed."""
    raw = bytearray(bytes.fromhex(hex_value))
    raw[at] ^= 0x01
    return raw.hex()


class TestValid:
    def test_a_loan_receipt_passes_every_check_with_the_published_key(
        self, client: TestClient, receipt: dict[str, Any]
    ) -> None:
        key = client.get("/api/v1/ledger/key").text
        result = verify(client, receipt=receipt, key=key)
        assert result["ok"] is True
        assert [c["name"] for c in result["checks"]] == RECEIPT_CHECKS
        assert all(c["ok"] for c in result["checks"])
        assert result["event"]["type"] == "circulation.loan.checked_out"
        assert result["event"]["payload"]["terms"]["loan_days"] == 30
        assert result["tree_size"] == receipt["proof"]["tree_size"]
        assert result["root_hash"] == receipt["proof"]["root_hash"]

    def test_the_key_defaults_to_the_librarys_and_a_receipt_may_come_as_text(
        self, client: TestClient, receipt: dict[str, Any]
    ) -> None:
        result = verify(client, receipt=json.dumps(receipt, indent=2))
        assert result["ok"] is True

    def test_a_witness_cosignature_beside_the_librarys_signature_is_skipped(
        self, client: TestClient, receipt: dict[str, Any]
    ) -> None:
        witness = Cosigner.generate("witness.east-library.cn")
        line = witness.cosign(receipt["checkpoint"], int(NOW.timestamp())).line
        receipt["checkpoint"] = add_lines(receipt["checkpoint"], [line])
        result = verify(client, receipt=receipt)
        assert result["ok"] is True
        assert result["checks"][2]["detail"] == "a signed note with 2 signature line(s)"

    def test_a_checkpoint_alone_is_checked_for_its_format_origin_and_signature(
        self, client: TestClient, receipt: dict[str, Any]
    ) -> None:
        result = verify(client, checkpoint=client.get("/api/v1/ledger/checkpoint").text)
        assert result["ok"] is True
        assert [c["name"] for c in result["checks"]] == [
            "key",
            "note",
            "checkpoint",
            "origin",
            "signature",
        ]


class TestTampering:
    def test_one_byte_changed_in_the_proof_misses_the_signed_root(
        self, client: TestClient, receipt: dict[str, Any]
    ) -> None:
        assert receipt["proof"]["proof"], "a tree of several leaves has a proof"
        receipt["proof"]["proof"][0] = flip(receipt["proof"]["proof"][0], 5)
        problems = failed(verify(client, receipt=receipt))
        assert problems == {
            "inclusion": "root mismatch: the proof does not lead to the signed root"
        }
        result = client.post(URL, json={"receipt": receipt}).json()
        inclusion = result["checks"][-1]
        assert (inclusion["code"], inclusion["message"]) == (
            "incl_root",
            "根哈希不符：证明推不出已签名的根哈希",  # for people, in the caller's language
        )

    def test_a_proof_hash_of_the_wrong_length_is_named(
        self, client: TestClient, receipt: dict[str, Any]
    ) -> None:
        receipt["proof"]["proof"][0] = receipt["proof"]["proof"][0][:-2]
        assert failed(verify(client, receipt=receipt)) == {
            "inclusion": "proof element 0 is 31 bytes, not 32"
        }
        receipt["proof"]["proof"][0] = "zz" * 32
        assert failed(verify(client, receipt=receipt)) == {
            "inclusion": "proof element 0 is not hex"
        }

    def test_a_leaf_hash_of_the_wrong_length_is_named(
        self, client: TestClient, receipt: dict[str, Any]
    ) -> None:
        receipt["leaf"]["leaf_hash"] = receipt["leaf"]["leaf_hash"] + "00"
        assert failed(verify(client, receipt=receipt)) == {
            "leaf_hash": "the leaf's leaf_hash is 33 bytes, not 32"
        }

    def test_changed_loan_terms_break_the_leaf_hash_and_the_inclusion(
        self, client: TestClient, receipt: dict[str, Any]
    ) -> None:
        data = receipt["leaf"]["data"]
        assert '"loan_days":30' in data
        receipt["leaf"]["data"] = data.replace('"loan_days":30', '"loan_days":90')
        problems = failed(verify(client, receipt=receipt))
        assert set(problems) == {"leaf_hash", "inclusion"}
        assert problems["leaf_hash"].startswith("leaf hash mismatch: the leaf's bytes hash to")
        assert problems["inclusion"].startswith("root mismatch")

    def test_a_proof_for_another_tree_is_named(
        self, client: TestClient, receipt: dict[str, Any]
    ) -> None:
        receipt["proof"]["root_hash"] = flip(receipt["proof"]["root_hash"])
        problems = failed(verify(client, receipt=receipt))
        assert list(problems) == ["tree"] and problems["tree"].startswith("root mismatch")
        receipt["proof"]["tree_size"] += 1
        assert failed(verify(client, receipt=receipt))["tree"].startswith(
            "the proof is for a tree of"
        )

    def test_a_reordered_checkpoint_fails_its_format_and_its_signature(
        self, client: TestClient, receipt: dict[str, Any]
    ) -> None:
        origin, size, root, rest = receipt["checkpoint"].split("\n", 3)
        note = "\n".join([size, origin, root, rest])
        problems = failed(verify(client, checkpoint=note))
        assert problems["checkpoint"] == f"line 2: tree size {origin} is not a number"
        assert (
            problems["signature"]
            == "bad signature: line 5 does not verify over the checkpoint text"
        )

    def test_a_truncated_checkpoint_is_named_by_line(
        self, client: TestClient, receipt: dict[str, Any]
    ) -> None:
        note = receipt["checkpoint"]
        sig = note.rstrip("\n").rsplit(" ", 1)[1]
        cut = note.replace(sig, sig[:72])  # the first 54 of its 68 bytes
        assert failed(verify(client, checkpoint=cut)) == {
            "signature": "bad signature: line 5 does not verify over the checkpoint text"
        }
        assert failed(verify(client, checkpoint=note.replace(sig, sig[:4]))) == {
            "note": "line 5: the signature is 3 bytes, too short for a key hash and a signature"
        }
        assert failed(verify(client, checkpoint=note.replace(sig, sig[:-3]))) == {
            "note": "line 5: the signature is not base64"
        }
        head = note.split("\n\n")[0]
        assert failed(verify(client, checkpoint=head)) == {
            "note": "not a signed note: no blank line before the signature lines"
        }
        without_root = "\n".join(note.split("\n")[:2]) + "\n\n" + note.split("\n\n")[1]
        problems = failed(verify(client, checkpoint=without_root))
        assert problems["checkpoint"] == "a checkpoint needs origin, tree size and root hash lines"
        assert problems["signature"].startswith("bad signature")
        receipt["checkpoint"] = note.replace("\u2014 ", "- ", 1)
        assert failed(verify(client, receipt=receipt)) == {
            "note": "line 5: not a signature line (\u2014 name signature)"
        }

    def test_a_checkpoint_signed_by_another_key_is_the_wrong_key(
        self, client: TestClient, app: FastAPI, receipt: dict[str, Any]
    ) -> None:
        name = app.state.ledger_signer.name
        impostor = Signer.generate(name)  # same name, different key
        text = receipt["checkpoint"].split("\n\n")[0] + "\n"
        receipt["checkpoint"] = impostor.sign(text)
        problems = failed(verify(client, receipt=receipt))
        assert list(problems) == ["signature"]
        assert problems["signature"].startswith("wrong key: line 5 is signed with key hash")
        # ...and against the impostor's key, the real library's note is not signed by it
        genuine = client.get("/api/v1/ledger/checkpoint").text
        problems = failed(verify(client, checkpoint=genuine, key=impostor.verifier.vkey))
        assert problems["signature"].startswith("wrong key")

    def test_a_key_of_another_name_fails_the_origin_and_the_signature(
        self, client: TestClient, receipt: dict[str, Any]
    ) -> None:
        other = Signer.generate("elsewhere.example/ledger").verifier.vkey
        problems = failed(verify(client, receipt=receipt, key=other))
        assert set(problems) == {"origin", "signature"}
        assert problems["signature"].startswith(
            "wrong key: no signature by elsewhere.example/ledger (signed by "
        )

    def test_a_malformed_key_or_receipt_says_why(
        self, client: TestClient, receipt: dict[str, Any]
    ) -> None:
        key = client.get("/api/v1/ledger/key").text.strip()
        name, khash, data = key.split("+", 2)
        bad_hash = f"{name}+{flip(khash)}+{data}"
        assert failed(verify(client, receipt=receipt, key=bad_hash)) == {
            "key": "the key's hash does not match its name and key"
        }
        assert failed(verify(client, receipt="{not json")) == {
            "receipt": "the receipt is not JSON: Expecting property name enclosed in double "
            "quotes (line 1)"
        }
        del receipt["proof"]
        assert failed(verify(client, receipt=receipt)) == {
            "receipt": "the receipt's proof is missing or of the wrong kind"
        }

    def test_a_root_of_the_wrong_length_in_a_checkpoint_is_named(self) -> None:
        signer = Signer.generate("test.library/ledger")
        text = Checkpoint(origin=signer.name, size=3, root=b"\x01" * 32).text()
        short = text.replace(
            base64.b64encode(b"\x01" * 32).decode(), base64.b64encode(b"\x01" * 31).decode()
        )
        result = check.verify(key=signer.verifier.vkey, checkpoint=signer.sign(short))
        assert {c.name: c.detail for c in result.checks if not c.ok} == {
            "checkpoint": "line 3: the root hash is 31 bytes, not 32"
        }


def test_neither_or_both_inputs_are_refused(client: TestClient) -> None:
    for body in ({}, {"checkpoint": "x", "receipt": "y"}):
        r = client.post(URL, json=body)
        assert r.status_code == 422
        assert "give either a checkpoint or a receipt" in r.json()["detail"]
