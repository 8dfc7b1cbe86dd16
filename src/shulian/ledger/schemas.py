"""Shapes of the ledger on the wire. Hashes are lowercase hex."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, model_validator


class CheckpointRead(BaseModel):
    origin: str
    tree_size: int
    root_hash: str
    note: str
    issued_at: str


class LeafRead(BaseModel):
    index: int
    event_seq: int
    leaf_hash: str
    data: str  # the canonical JSON leaf, as UTF-8 text


class InclusionProofRead(BaseModel):
    index: int
    tree_size: int
    leaf_hash: str
    proof: list[str]
    root_hash: str


class EventReceipt(BaseModel):
    """What a reader keeps to prove an event later: the leaf, its proof and the signed
    checkpoint that the proof leads to."""

    event_seq: int
    leaf: LeafRead
    proof: InclusionProofRead
    checkpoint: str


class ConsistencyProofRead(BaseModel):
    first: int
    second: int
    first_root: str
    second_root: str
    proof: list[str]


class AuditProblem(BaseModel):
    where: str
    problem: str


class AuditReport(BaseModel):
    ok: bool
    leaves: int
    checkpoints: int
    rows_checked: int = 0  # table rows replayed against the events
    problem_count: int = 0  # all problems; ``problems`` lists the first ones
    problems: list[AuditProblem]


class CosignatureRead(BaseModel):
    """A cosignature this library holds: a witness's on one of our checkpoints, or ours on a
    peer's. ``timestamp`` is the cosignature's own signed time (Unix seconds)."""

    origin: str
    tree_size: int
    root_hash: str
    witness: str
    timestamp: int
    time: str
    line: str
    received_at: str


class PeerRead(BaseModel):
    """A library whose log this library witnesses, and the last checkpoint seen from it."""

    origin: str
    url: str
    vkey: str
    last_size: int | None
    last_root: str | None
    last_checked_at: str | None
    last_error: str | None


class WitnessRead(BaseModel):
    """A witness whose cosignatures on this library's checkpoints are accepted."""

    name: str
    vkey: str
    added_at: str


class SplitViewRead(BaseModel):
    """Two checkpoints signed by one log that cannot both be true."""

    id: int
    origin: str
    reason: str
    note_a: str
    note_b: str
    detected_at: str


class VerifyRequest(BaseModel):
    """A signed checkpoint note, or a receipt (as ``.../receipt`` answers it, or that JSON as
    text), to check against ``key`` (default: this library's verifier key)."""

    checkpoint: str | None = Field(default=None, max_length=20_000)
    receipt: dict[str, Any] | str | None = None
    key: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _one_thing(self) -> VerifyRequest:
        if (self.checkpoint is None) == (self.receipt is None):
            raise ValueError("give either a checkpoint or a receipt")
        return self


class VerifyCheck(BaseModel):
    name: str  # key, receipt, note, checkpoint, origin, signature, leaf, leaf_hash, tree, inclusion
    ok: bool
    code: str  # what passed or failed, as ``ledger.check.MESSAGES`` names it
    detail: str  # in English, stable for programs
    message: str  # the same, in the caller's language


class VerifyResult(BaseModel):
    ok: bool  # every check passed
    checks: list[VerifyCheck]
    origin: str | None = None  # the checkpoint's, once its text parsed
    tree_size: int | None = None
    root_hash: str | None = None
    event: dict[str, Any] | None = None  # the receipt's decoded leaf
