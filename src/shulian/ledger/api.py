"""HTTP API of the ledger. Reading and verifying it are public (leaves carry pseudonyms, never
names); signing a checkpoint on demand and trusting a witness need ``ledger.audit``. A witness
POSTs its cosignature as the cosigned checkpoint note (``text/plain``); the signatures are its
credentials, so that route needs no login."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, status
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from shulian.core.bounds import INT64_MAX, Position, Seq
from shulian.core.deps import NowDep, SessionDep, require
from shulian.core.security import Principal
from shulian.ledger import check, cosignatures, service, witness
from shulian.ledger.cosign import Cosigner
from shulian.ledger.errors import InvalidProofRequest, SplitViewReported
from shulian.ledger.note import Signer
from shulian.ledger.schemas import (
    CheckpointRead,
    ConsistencyProofRead,
    CosignatureRead,
    EventReceipt,
    InclusionProofRead,
    LeafRead,
    PeerRead,
    SplitViewRead,
    VerifyRequest,
    VerifyResult,
    WitnessRead,
)

router = APIRouter(prefix="/api/v1/ledger", tags=["ledger"])


def _signer(request: Request) -> Signer:
    signer: Signer = request.app.state.ledger_signer
    return signer


@router.get("/key", response_class=PlainTextResponse)
def verifier_key(request: Request) -> str:
    """This library's checkpoint verifier key (``name+hash+base64``)."""
    return _signer(request).verifier.vkey + "\n"


@router.get("/checkpoint", response_class=PlainTextResponse)
def checkpoint_note(session: SessionDep, request: Request) -> PlainTextResponse:
    """The latest signed checkpoint, as a C2SP signed note, followed by the witnesses'
    cosignatures held for it (a verifier that knows only our key skips those lines)."""
    cp = service.latest_checkpoint(session)
    if cp is None:
        raise InvalidProofRequest("no checkpoint has been signed yet")
    note = cosignatures.checkpoint_note(session, cp, _signer(request).name)
    return PlainTextResponse(note, media_type="text/plain; charset=utf-8")


@router.get("/checkpoints", response_model=list[CheckpointRead])
def checkpoints(
    session: SessionDep, request: Request, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[CheckpointRead]:
    origin = _signer(request).name
    return [
        service.checkpoint_read(cp, origin) for cp in service.list_checkpoints(session, limit=limit)
    ]


@router.post("/checkpoints", response_model=CheckpointRead, status_code=status.HTTP_201_CREATED)
def sign_checkpoint(
    session: SessionDep,
    request: Request,
    now: NowDep,
    who: Annotated[Principal, require("ledger.audit")],
) -> CheckpointRead:
    """Sign a checkpoint of the tree as it stands now."""
    signer = _signer(request)
    return service.checkpoint_read(
        service.issue_checkpoint(session, signer=signer, now=now), signer.name
    )


@router.get("/leaves/{index}", response_model=LeafRead)
def get_leaf(index: Position, session: SessionDep) -> LeafRead:
    return service.leaf(session, index)


@router.get("/proof/inclusion", response_model=InclusionProofRead)
def inclusion(
    session: SessionDep,
    index: Position,
    size: Annotated[int | None, Query(ge=1, le=INT64_MAX)] = None,
) -> InclusionProofRead:
    """The audit path of leaf ``index`` in the tree of ``size`` leaves (default: the latest
    checkpoint's size)."""
    return service.inclusion_proof(session, index=index, size=size)


@router.get("/proof/consistency", response_model=ConsistencyProofRead)
def consistency(
    session: SessionDep,
    first: Position,
    second: Position,
) -> ConsistencyProofRead:
    return service.consistency_proof(session, first=first, second=second)


@router.get("/events/{seq}/receipt", response_model=EventReceipt)
def receipt(seq: Seq, session: SessionDep) -> EventReceipt:
    """Everything needed to prove later that event ``seq`` happened: leaf, proof, checkpoint."""
    return service.event_receipt(session, seq=seq)


# --- witnessing ----------------------------------------------------------------------------


class WitnessCreate(BaseModel):
    vkey: str  # the witness's verifier key: name+keyid+base64(0x04 || public key)


@router.get("/witness-key", response_class=PlainTextResponse)
def witness_key(request: Request) -> str:
    """This library's witness key, which cosigns other libraries' checkpoints."""
    cosigner: Cosigner = request.app.state.ledger_cosigner
    return cosigner.key.vkey + "\n"


@router.post(
    "/cosignatures", response_model=list[CosignatureRead], status_code=status.HTTP_201_CREATED
)
def receive_cosignature(
    session: SessionDep,
    request: Request,
    now: NowDep,
    note: Annotated[str, Body(media_type="text/plain")],
) -> list[CosignatureRead]:
    """Take a witness's cosignature: the body is one of our checkpoints as a signed note, with
    the witness's cosignature line (C2SP tlog-cosignature) after our signature. Kept only from
    a trusted witness (400 or 403 with the reason otherwise); a note signed with our key whose
    root is not ours is a split view: kept as evidence and answered 409."""
    signer = _signer(request)
    got = cosignatures.receive_cosignatures(session, note=note, log_key=signer.verifier, now=now)
    if got.split_view is not None:
        # The request is refused, but the evidence it brought must stay.
        session.commit()
        raise SplitViewReported(got.split_view.reason)
    return cosignatures.cosignature_reads(got.cosignatures)


@router.get("/cosignatures", response_model=list[CosignatureRead])
def list_cosignatures(
    session: SessionDep,
    origin: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[CosignatureRead]:
    """The cosignatures this library holds: witnesses' on our checkpoints (origin is ours) and
    ours on the libraries we witness; newest first."""
    return cosignatures.list_cosignatures(session, origin=origin, limit=limit)


@router.get("/witnesses", response_model=list[WitnessRead])
def list_witnesses(session: SessionDep) -> list[WitnessRead]:
    """The witnesses whose cosignatures on our checkpoints we accept."""
    return cosignatures.list_witnesses(session)


@router.post("/witnesses", response_model=WitnessRead, status_code=status.HTTP_201_CREATED)
def trust_witness(
    session: SessionDep,
    now: NowDep,
    body: WitnessCreate,
    who: Annotated[Principal, require("ledger.audit")],
) -> WitnessRead:
    """Accept this witness's cosignatures on our checkpoints from now on."""
    return cosignatures.witness_read(cosignatures.trust_witness(session, vkey=body.vkey, now=now))


@router.get("/witnessed", response_model=list[PeerRead])
def witnessed(session: SessionDep) -> list[PeerRead]:
    """The libraries this library witnesses, with the last checkpoint seen from each."""
    return witness.list_peers(session)


@router.get("/split-views", response_model=list[SplitViewRead])
def split_views(
    session: SessionDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[SplitViewRead]:
    """Evidence of logs (ours or a peer's) that showed two histories."""
    return witness.list_split_views(session, limit=limit)


@router.post("/verify", response_model=VerifyResult)
def verify(body: VerifyRequest, request: Request) -> VerifyResult:
    """Check a signed checkpoint or a receipt against a verifier key (default: this library's),
    as the public verify page does in the browser: ``ok`` and every check with what passed or
    exactly what failed. Answers 200 either way; a failed check is a finding, not an error."""
    key = body.key if body.key and body.key.strip() else _signer(request).verifier.vkey
    return check.verify(key=key, checkpoint=body.checkpoint, receipt=body.receipt)
