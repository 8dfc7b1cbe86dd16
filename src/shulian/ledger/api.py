"""HTTP API of the ledger. Reading it is public (leaves carry pseudonyms, never names);
signing a checkpoint on demand needs ``ledger.audit``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import PlainTextResponse

from shulian.core.deps import NowDep, SessionDep, require
from shulian.core.security import Principal
from shulian.ledger import service
from shulian.ledger.errors import InvalidProofRequest
from shulian.ledger.note import Signer
from shulian.ledger.schemas import (
    CheckpointRead,
    ConsistencyProofRead,
    EventReceipt,
    InclusionProofRead,
    LeafRead,
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
    """The latest signed checkpoint, as a C2SP signed note."""
    cp = service.latest_checkpoint(session)
    if cp is None:
        raise InvalidProofRequest("no checkpoint has been signed yet")
    return PlainTextResponse(cp.note, media_type="text/plain; charset=utf-8")


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
def get_leaf(index: int, session: SessionDep) -> LeafRead:
    return service.leaf(session, index)


@router.get("/proof/inclusion", response_model=InclusionProofRead)
def inclusion(
    session: SessionDep,
    index: Annotated[int, Query(ge=0)],
    size: Annotated[int | None, Query(ge=1)] = None,
) -> InclusionProofRead:
    """The audit path of leaf ``index`` in the tree of ``size`` leaves (default: the latest
    checkpoint's size)."""
    return service.inclusion_proof(session, index=index, size=size)


@router.get("/proof/consistency", response_model=ConsistencyProofRead)
def consistency(
    session: SessionDep,
    first: Annotated[int, Query(ge=0)],
    second: Annotated[int, Query(ge=0)],
) -> ConsistencyProofRead:
    return service.consistency_proof(session, first=first, second=second)


@router.get("/events/{seq}/receipt", response_model=EventReceipt)
def receipt(seq: int, session: SessionDep) -> EventReceipt:
    """Everything needed to prove later that event ``seq`` happened: leaf, proof, checkpoint."""
    return service.event_receipt(session, seq=seq)
