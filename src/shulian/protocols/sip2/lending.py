"""Item messages: checkout (11), checkin (09), renew (29), renew all (65), item information (17),
hold (15). The kiosk lends and returns for its own branch, as ``kiosk:<id>``."""

from __future__ import annotations

from sqlalchemy.orm import Session

from shulian.circulation import service as circulation_service
from shulian.circulation.schemas import LoanRead
from shulian.core.errors import ShulianError
from shulian.core.i18n import gettext
from shulian.protocols.sip2.codec import Request, Response, sip_date, yn
from shulian.protocols.sip2.errors import ItemIdentifierMissing, NoHoldOnItem, UnsupportedHoldMode
from shulian.protocols.sip2.patrons import patron
from shulian.protocols.sip2.state import Context

MAGNETIC_UNKNOWN = "U"

# Our item states as SIP2 circulation status codes.
CIRCULATION_STATUS = {
    "available": "03",
    "on_loan": "04",
    "processing": "06",
    "on_hold_shelf": "08",
    "in_transit": "10",
    "missing": "13",
    "withdrawn": "01",
}
# Checkin alert types (CV): why the kiosk should put the item aside.
ALERT_HOLD_HERE = "01"
ALERT_HOLD_ELSEWHERE = "02"
ALERT_TRANSIT = "04"


def _barcode(req: Request) -> str:
    barcode = req.get("AB")
    if not barcode:
        raise ItemIdentifierMissing()
    return barcode


def _loan_response(
    ctx: Context, req: Request, code: str, loan: LoanRead, renewed: bool
) -> Response:
    resp = Response(
        code, "1" + yn(renewed) + MAGNETIC_UNKNOWN + "Y" + sip_date(ctx.now, ctx.config.tz)
    )
    resp.add("AO", ctx.kiosk.institution).add("AA", req.get("AA")).add("AB", loan.barcode)
    resp.add("AJ", loan.title).add("AH", sip_date(loan.due_at, ctx.config.tz))
    due = loan.due_at.astimezone(ctx.config.tz).strftime("%Y-%m-%d")
    message = gettext("Renewed; due back on {due}") if renewed else gettext("Due back on {due}")
    return resp.add("AF", message.format(due=due))


def checkout(ctx: Context, session: Session, req: Request) -> Response:
    """11 -> 12. With the kiosk's renewal policy ``Y``, scanning an item the patron already has
    renews it (the standard's "SC renewal policy")."""
    reader = patron(ctx, session, req)
    barcode = _barcode(req)
    if req.fixed.get("sc_renewal_policy", "N").upper() != "Y":
        return _loan_response(ctx, req, "12", _check_out(ctx, session, reader.id, barcode), False)
    try:
        with session.begin_nested():
            loan = _check_out(ctx, session, reader.id, barcode)
    except ShulianError as exc:
        if exc.code != "AlreadyOnLoan":
            raise
        loan = circulation_service.renew(
            session, reader_id=reader.id, barcode=barcode, actor=ctx.kiosk.actor, now=ctx.now
        )
        return _loan_response(ctx, req, "12", loan, renewed=True)
    return _loan_response(ctx, req, "12", loan, renewed=False)


def _check_out(ctx: Context, session: Session, reader_id: int, barcode: str) -> LoanRead:
    return circulation_service.check_out(
        session,
        reader_id=reader_id,
        barcode=barcode,
        branch=ctx.kiosk.branch,
        actor=ctx.kiosk.actor,
        now=ctx.now,
    )


def checkin(ctx: Context, session: Session, req: Request) -> Response:
    """09 -> 10: a return at the kiosk's branch. An item wanted for a hold or at another branch
    comes back with the alert flag and where it should go (CT), so the kiosk sorts it aside."""
    result = circulation_service.check_in(
        session, barcode=_barcode(req), branch=ctx.kiosk.branch, actor=ctx.kiosk.actor, now=ctx.now
    )
    alert = result.destination != "shelf"
    resp = Response(
        "10", "1" + "Y" + MAGNETIC_UNKNOWN + yn(alert) + sip_date(ctx.now, ctx.config.tz)
    )
    resp.add("AO", ctx.kiosk.institution).add("AB", result.barcode)
    resp.add("AQ", result.location or ctx.kiosk.branch).add("AJ", result.title)
    if result.destination == "hold_shelf":
        resp.add("CV", ALERT_HOLD_HERE if not result.to_branch else ALERT_HOLD_ELSEWHERE)
        resp.add("CT", result.to_branch or ctx.kiosk.branch)
        resp.add("AF", gettext("Returned. Put it on the hold shelf: a reader is waiting for it"))
    elif result.destination == "transit":
        resp.add("CV", ALERT_TRANSIT).add("CT", result.to_branch or "")
        resp.add(
            "AF",
            gettext("Returned. It goes to branch {branch}").format(branch=result.to_branch or ""),
        )
    else:
        resp.add("AF", gettext("Returned. Thank you"))
    if result.fine_cents:
        resp.add(
            "AG", gettext("Overdue fine: {amount}").format(amount=f"{result.fine_cents / 100:.2f}")
        )
    return resp


def renew(ctx: Context, session: Session, req: Request) -> Response:
    """29 -> 30: renew one item the patron has on loan."""
    reader = patron(ctx, session, req)
    loan = circulation_service.renew(
        session, reader_id=reader.id, barcode=_barcode(req), actor=ctx.kiosk.actor, now=ctx.now
    )
    return _loan_response(ctx, req, "30", loan, renewed=True)


def renew_all(ctx: Context, session: Session, req: Request) -> Response:
    """65 -> 66: renew every loan that may be; the others are listed (BN) with the reason."""
    reader = patron(ctx, session, req)
    result = circulation_service.renew_all(
        session, reader_id=reader.id, actor=ctx.kiosk.actor, now=ctx.now
    )
    counts = f"{min(len(result.renewed), 9999):04d}{min(len(result.refused), 9999):04d}"
    resp = Response("66", "1" + counts + sip_date(ctx.now, ctx.config.tz))
    resp.add("AO", ctx.kiosk.institution)
    for loan in result.renewed:
        resp.add("BM", loan.barcode)
    for refusal in result.refused:
        resp.add("BN", refusal.barcode)
    resp.add(
        "AF",
        gettext("{renewed} renewed, {refused} not renewed").format(
            renewed=len(result.renewed), refused=len(result.refused)
        ),
    )
    return resp


def item_information(ctx: Context, session: Session, req: Request) -> Response:
    """17 -> 18: where an item is, whether it is out and until when, how many wait for it."""
    item = circulation_service.item_status(session, barcode=_barcode(req), now=ctx.now)
    status = CIRCULATION_STATUS.get(item.status, "01")
    resp = Response("18", status + "00" + "01" + sip_date(ctx.now, ctx.config.tz))
    resp.add("CF", f"{min(item.holds_waiting, 9999):04d}")
    if item.due_at is not None:
        resp.add("AH", sip_date(item.due_at, ctx.config.tz))
    resp.add("AB", item.barcode).add("AJ", item.title)
    resp.add("AQ", item.branch).add("AP", item.location, optional=True)
    return resp


def hold(ctx: Context, session: Session, req: Request) -> Response:
    """15 -> 16: ``+`` places a hold on the scanned copy's title for pickup at BS (default:
    the kiosk's branch), ``-`` cancels the patron's hold on it. Modifying (``*``) is refused."""
    mode = req.fixed.get("hold_mode", "")
    reader = patron(ctx, session, req)
    barcode = _barcode(req)
    if mode == "+":
        placed = circulation_service.place_hold(
            session,
            reader_id=reader.id,
            barcode=barcode,
            pickup_branch=req.get("BS") or ctx.kiosk.branch,
            actor=ctx.kiosk.actor,
            now=ctx.now,
        )
        message = gettext("Hold placed")
    elif mode == "-":
        item = circulation_service.item_status(session, barcode=barcode, now=ctx.now)
        account = circulation_service.reader_account(session, reader_id=reader.id, now=ctx.now)
        mine = [h for h in account.holds if h.barcode == barcode or h.record_id == item.record_id]
        if not mine:
            raise NoHoldOnItem(barcode)
        placed = circulation_service.cancel_hold(
            session, hold_id=mine[0].id, reader_id=reader.id, actor=ctx.kiosk.actor, now=ctx.now
        )
        message = gettext("Hold cancelled")
    else:
        raise UnsupportedHoldMode(mode)
    available = str(placed.status) == "ready"
    resp = Response("16", "1" + yn(available) + sip_date(ctx.now, ctx.config.tz))
    if placed.expires_at is not None:
        resp.add("BW", sip_date(placed.expires_at, ctx.config.tz))
    if placed.position is not None and mode == "+":
        resp.add("BR", placed.position)
    resp.add("BS", placed.pickup_branch).add("AO", ctx.kiosk.institution)
    resp.add("AA", req.get("AA")).add("AB", barcode).add("AJ", placed.title)
    return resp.add("AF", message)
