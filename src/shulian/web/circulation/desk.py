"""The circulation desk (``circulation.desk``): scan a reader's card or QR code, see their account,
scan items to lend them; scan items to take them back (no reader needed) and see in big letters
where each goes; the hold shelf, pick list and transits of a branch. Payments and waivers need
``circulation.fines.manage``.

Scans are htmx posts: each answer is one result (green or red, with the domain's reason), put on
top of the desk's log, and the reader's account redrawn beside it. Without JavaScript the same
forms answer with the whole page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from shulian.accounts import service as accounts_service
from shulian.accounts.api import QRSigner
from shulian.circulation import service
from shulian.circulation.schemas import CheckinRead, LoanRead
from shulian.consortium import service as consortium_service
from shulian.core.bounds import Id
from shulian.core.deps import NowDep, SessionDep, SettingsDep, require
from shulian.core.errors import BadRequest, ShulianError
from shulian.core.security import Principal
from shulian.web.circulation.views import Clock, money, parse_yuan
from shulian.web.consortium.views import branch_names
from shulian.web.forms import error_text
from shulian.web.render import render

router = APIRouter(include_in_schema=False)
Desk = Annotated[Principal, require("circulation.desk")]
FinesManager = Annotated[Principal, require("circulation.fines.manage")]
BranchField = Annotated[str, Form(max_length=32)]
ScanField = Annotated[str, Form(max_length=64)]
BranchQuery = Annotated[str, Query(max_length=32)]


class DeskBranchNeeded(BadRequest):
    def __init__(self) -> None:
        super().__init__("Choose the branch this desk is at")


class NothingScanned(BadRequest):
    def __init__(self) -> None:
        super().__init__("Scan or type a barcode")


def _branch(who: Principal, given: str) -> str:
    """The branch the desk works at: the one chosen on the page, else the staff member's own."""
    branch = given.strip().upper() or who.branch_code
    if not branch:
        raise DeskBranchNeeded()
    return branch


def _htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _context(session: Session, who: Principal, branch: str, **extra: Any) -> dict[str, Any]:
    ctx: dict[str, Any] = {
        "branch": branch.strip().upper() or who.branch_code or "",
        "branches": consortium_service.list_branches(session),
        "branch_names": branch_names(session),
        "clock": Clock(service.library_tz(session)),
        "money": money,
        "results": [],
        "error": None,
        "reader": None,
    }
    ctx.update(extra)
    return ctx


def _account(session: Session, reader_id: int, now: datetime) -> dict[str, Any]:
    """The reader panel: who they are, what blocks them, loans, holds and fines."""
    reader = accounts_service.get_reader(session, reader_id)
    blocks = service.reader_blocks(session, reader_id=reader_id, now=now)
    categories = accounts_service.list_categories(session)
    return {
        "reader": accounts_service.reader_read(session, reader),
        "category_names": {c.code: (c.name_zh, c.name_en) for c in categories},
        "account": service.reader_account(session, reader_id=reader_id, now=now),
        "blocks": [e.localized() for e in blocks],
    }


def _refusal(exc: ShulianError, barcode: str) -> dict[str, Any]:
    return {"outcome": "refused", "barcode": barcode, "reason": error_text(exc)}


def _lent(loan: LoanRead) -> dict[str, Any]:
    return {"outcome": "ok", "kind": "checkout", "barcode": loan.barcode, "loan": loan}


def _returned(found: CheckinRead) -> dict[str, Any]:
    return {"outcome": "ok", "kind": "checkin", "barcode": found.barcode, "checkin": found}


# -- finding the reader ---------------------------------------------------------------------------


@router.get("/staff/scan", response_class=HTMLResponse)
def desk(request: Request, session: SessionDep, who: Desk, branch: BranchQuery = "") -> Response:
    """The desk: scan a reader to lend, or switch to taking items back."""
    return render(
        request, "circulation/staff/desk.html", _context(session, who, branch, mode="reader")
    )


@router.post("/staff/scan", response_class=HTMLResponse)
def find_reader(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    qr: QRSigner,
    who: Desk,
    code: ScanField,
    branch: BranchField = "",
) -> Response:
    """A desk scanner types the reader's QR code (or card number) into this form."""
    try:
        if code.strip().startswith(accounts_service.QR_PREFIX):
            found = accounts_service.resolve_reader_qr(
                session, code=code.strip(), signer=qr, max_age=settings.qr_max_age
            )
        else:
            found = accounts_service.find_reader_by_card(session, code)
    except ShulianError as exc:
        ctx = _context(session, who, branch, mode="reader", error=error_text(exc))
        return render(request, "circulation/staff/desk.html", ctx, status_code=exc.status_code)
    target = f"/staff/desk/readers/{found.id}"
    if branch.strip():
        target += f"?branch={branch.strip().upper()}"
    return RedirectResponse(target, status_code=303)


@router.get("/staff/desk/readers/{reader_id}", response_class=HTMLResponse)
def reader_desk(
    reader_id: Id,
    request: Request,
    session: SessionDep,
    now: NowDep,
    who: Desk,
    branch: BranchQuery = "",
) -> Response:
    """The reader's account beside the item scanner."""
    done = request.query_params.get("done", "")
    ctx = _context(
        session,
        who,
        branch,
        mode="checkout",
        done=done if done in ("paid", "waived") else "",
        **_account(session, reader_id, now),
    )
    return render(request, "circulation/staff/desk.html", ctx)


# -- lending and taking back ----------------------------------------------------------------------


def _scanned(
    request: Request,
    session: Session,
    who: Principal,
    branch: str,
    result: dict[str, Any],
    *,
    mode: str,
    extra: dict[str, Any],
) -> Response:
    """One scan's result: the fragment htmx puts on top of the log, or the whole page."""
    status = 200 if result["outcome"] == "ok" else result.get("status", 400)
    ctx = _context(session, who, branch, mode=mode, results=[result], **extra)
    template = (
        "circulation/staff/_desk_scan.html" if _htmx(request) else "circulation/staff/desk.html"
    )
    return render(request, template, ctx, status_code=status)


@router.post("/staff/desk/readers/{reader_id}/checkout", response_class=HTMLResponse)
def check_out(
    reader_id: Id,
    request: Request,
    session: SessionDep,
    now: NowDep,
    who: Desk,
    barcode: ScanField = "",
    branch: BranchField = "",
) -> Response:
    """Lend the scanned item to the reader; a refusal says why (the domain's reason)."""
    try:
        if not barcode.strip():
            raise NothingScanned()
        loan = service.check_out(
            session,
            reader_id=reader_id,
            barcode=barcode.strip(),
            branch=_branch(who, branch),
            actor=who.actor,
            now=now,
        )
        result = _lent(loan)
    except ShulianError as exc:
        session.rollback()
        result = {**_refusal(exc, barcode.strip()), "status": exc.status_code}
    extra = _account(session, reader_id, now)
    return _scanned(request, session, who, branch, result, mode="checkout", extra=extra)


@router.get("/staff/desk/checkin", response_class=HTMLResponse)
def checkin_desk(
    request: Request, session: SessionDep, who: Desk, branch: BranchQuery = ""
) -> Response:
    """Taking items back: no reader needed, any item from any branch (通借通还)."""
    return render(
        request, "circulation/staff/desk.html", _context(session, who, branch, mode="checkin")
    )


@router.post("/staff/desk/checkin", response_class=HTMLResponse)
def check_in(
    request: Request,
    session: SessionDep,
    now: NowDep,
    who: Desk,
    barcode: ScanField = "",
    branch: BranchField = "",
) -> Response:
    """Take the scanned item back and say where it goes: shelf, hold shelf or transit."""
    try:
        if not barcode.strip():
            raise NothingScanned()
        found = service.check_in(
            session, barcode=barcode.strip(), branch=_branch(who, branch), actor=who.actor, now=now
        )
        result = _returned(found)
    except ShulianError as exc:
        session.rollback()
        result = {**_refusal(exc, barcode.strip()), "status": exc.status_code}
    return _scanned(request, session, who, branch, result, mode="checkin", extra={})


# -- fines ----------------------------------------------------------------------------------------


def _fines_refused(
    request: Request,
    session: Session,
    who: Principal,
    exc: ShulianError,
    *,
    reader_id: int,
    branch: str,
    now: datetime,
) -> Response:
    session.rollback()
    ctx = _context(
        session,
        who,
        branch,
        mode="checkout",
        fines_error=error_text(exc),
        **_account(session, reader_id, now),
    )
    return render(request, "circulation/staff/desk.html", ctx, status_code=exc.status_code)


def _back_to(reader_id: int, branch: str, done: str) -> Response:
    query = f"?done={done}" + (f"&branch={branch.strip().upper()}" if branch.strip() else "")
    return RedirectResponse(f"/staff/desk/readers/{reader_id}{query}#fines", status_code=303)


@router.post("/staff/desk/readers/{reader_id}/payments", response_class=HTMLResponse)
def pay(
    reader_id: Id,
    request: Request,
    session: SessionDep,
    now: NowDep,
    who: FinesManager,
    amount: Annotated[str, Form(max_length=20)],
    note: Annotated[str, Form(max_length=400)] = "",
    branch: BranchField = "",
) -> Response:
    """Take a payment in yuan; the oldest fines are settled first."""
    try:
        service.pay(
            session,
            reader_id=reader_id,
            amount_cents=parse_yuan(amount),
            actor=who.actor,
            now=now,
            note=note.strip(),
        )
    except ShulianError as exc:
        return _fines_refused(
            request, session, who, exc, reader_id=reader_id, branch=branch, now=now
        )
    return _back_to(reader_id, branch, "paid")


@router.post("/staff/desk/readers/{reader_id}/fines/{fine_id}/waive", response_class=HTMLResponse)
def waive(
    reader_id: Id,
    fine_id: Id,
    request: Request,
    session: SessionDep,
    now: NowDep,
    who: FinesManager,
    note: Annotated[str, Form(max_length=400)] = "",
    branch: BranchField = "",
) -> Response:
    """Waive what is left of one fine."""
    try:
        service.waive(
            session, fine_id=fine_id, amount_cents=None, actor=who.actor, now=now, note=note
        )
    except ShulianError as exc:
        return _fines_refused(
            request, session, who, exc, reader_id=reader_id, branch=branch, now=now
        )
    return _back_to(reader_id, branch, "waived")


# -- the branch's lists ---------------------------------------------------------------------------


def _list_branch(session: Session, who: Principal, given: str) -> str:
    """The branch a list is for: the one asked for, else the staff member's, else the first."""
    if given.strip():
        return consortium_service.get_branch_by_code(session, given.strip().upper()).code
    if who.branch_code:
        return who.branch_code
    first = consortium_service.list_branches(session)
    return first[0].code if first else ""


@router.get("/staff/hold-shelf", response_class=HTMLResponse)
def hold_shelf(
    request: Request, session: SessionDep, who: Desk, branch: BranchQuery = ""
) -> Response:
    """What waits for collection at a branch, found by the last digits of the reader's card."""
    code = _list_branch(session, who, branch)
    rows = service.hold_shelf(session, branch=code) if code else []
    ctx = _context(session, who, code, rows=rows, page="hold_shelf")
    return render(request, "circulation/staff/branch_lists.html", ctx)


@router.get("/staff/pick-list", response_class=HTMLResponse)
def pick_list(
    request: Request, session: SessionDep, now: NowDep, who: Desk, branch: BranchQuery = ""
) -> Response:
    """Copies to pull from this branch's shelves for readers' holds, in shelf order."""
    code = _list_branch(session, who, branch)
    rows = service.pick_list(session, branch=code, now=now) if code else []
    ctx = _context(session, who, code, rows=rows, page="pick_list")
    return render(request, "circulation/staff/branch_lists.html", ctx)


@router.get("/staff/transits", response_class=HTMLResponse)
def transits(
    request: Request,
    session: SessionDep,
    who: Desk,
    branch: BranchQuery = "",
    direction: Literal["incoming", "outgoing"] = "incoming",
) -> Response:
    """Items on their way to this branch (incoming) or sent from it (outgoing)."""
    code = _list_branch(session, who, branch)
    rows = service.transits(session, branch=code, direction=direction) if code else []
    ctx = _context(session, who, code, rows=rows, page="transits", direction=direction)
    return render(request, "circulation/staff/branch_lists.html", ctx)
