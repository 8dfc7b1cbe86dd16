"""The ledger's pages: the staff explorer (``ledger.audit``: checkpoints over time, any event with
its proof checked, the last audit, witnessing) and the public verify page, where anyone pastes a
checkpoint or a receipt and their own browser checks it (``static/ledger-verify.js``)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from shulian.core.bounds import INT64_MAX, Id, Seq
from shulian.core.deps import OptionalPrincipal, SessionDep, require
from shulian.core.security import Principal
from shulian.ledger import views
from shulian.ledger.note import Signer
from shulian.web.ledger import views as ledger_views
from shulian.web.render import render

router = APIRouter(include_in_schema=False)
Auditor = Annotated[Principal, require("ledger.audit")]


def _signer(request: Request) -> Signer:
    signer: Signer = request.app.state.ledger_signer
    return signer


@router.get("/staff/ledger", response_class=HTMLResponse)
def staff_ledger(
    request: Request,
    session: SessionDep,
    staff: Auditor,
    event: Annotated[str, Query(max_length=20)] = "",
    by: Literal["seq", "index"] = "seq",
) -> Response:
    """The ledger explorer; ``event`` looks up an event by its spine ``seq`` or leaf ``index``."""
    typed = event.strip()
    # ASCII digits only (``isdigit`` admits "²", which ``int`` refuses), and no number past the
    # largest the ledger can hold: the database driver cannot even compare one.
    number = int(typed) if typed.isascii() and typed.isdigit() else None
    too_large = number is not None and number > INT64_MAX
    if too_large:
        number = None
    data = views.explorer(
        session,
        verifier=_signer(request).verifier,
        seq=number if by == "seq" else None,
        index=number if by == "index" else None,
    )
    ctx = {
        "x": data,
        "event": event.strip(),
        "by": by,
        "not_a_number": bool(typed) and number is None and not too_large,
        "too_large": too_large,
        "chart": ledger_views.growth_chart(data.checkpoints),
        "utc": ledger_views.utc,
        "unix_utc": ledger_views.unix_utc,
        "pretty_leaf": ledger_views.pretty_leaf,
        "origin": _signer(request).name,
    }
    return render(request, "ledger/staff/explorer.html", ctx)


@router.get("/ledger/verify", response_class=HTMLResponse)
def verify_page(
    request: Request,
    who: OptionalPrincipal,
    loan: Id | None = None,
    seq: Seq | None = None,
) -> Response:
    """Verify a checkpoint or a receipt in the browser; ``loan`` loads one of my loans' receipt,
    ``seq`` an event's. The library's key is filled in, and may be replaced."""
    ctx = {
        "vkey": _signer(request).verifier.vkey,
        "loan": loan,
        "seq": seq,
        "check_messages": ledger_views.check_messages(),
    }
    return render(request, "ledger/verify.html", ctx)
