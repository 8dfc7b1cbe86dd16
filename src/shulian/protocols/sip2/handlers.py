"""One function per SIP2 message, and the dispatcher that runs each as one unit of work.

Every request is answered by its own response code. A refusal by the platform (any
``ShulianError``: a blocked card, an item on hold for another reader...) becomes that response with
``ok`` 0 and the translated reason as the screen message (AF); anything unexpected is logged by
type only (exception texts can hold card numbers) and refused the same way, so no message can
take the server down. Logs name the kiosk and the message code, never a patron or an item.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session

import shulian
from shulian.core import i18n
from shulian.core.db import session_scope
from shulian.core.errors import ShulianError
from shulian.protocols.sip2 import lending, patrons
from shulian.protocols.sip2.codec import Request, Response, sip_date, yn
from shulian.protocols.sip2.errors import KioskNotLoggedIn, ServiceUnavailable
from shulian.protocols.sip2.state import (
    ConnectionState,
    Context,
    KioskInfo,
    SessionFactory,
    Sip2Config,
)
from shulian.selfservice import service as selfservice_service

log = logging.getLogger("shulian.sip2")

Handler = Callable[[Context, Session, Request], Response]

# Each message, its handler and whether it writes (readers take no write lock on SQLite).
HANDLERS: dict[str, tuple[Handler, bool]] = {
    "23": (patrons.patron_status, False),
    "63": (patrons.patron_information, False),
    "35": (patrons.end_session, False),
    "37": (patrons.fee_paid, True),
    "11": (lending.checkout, True),
    "09": (lending.checkin, True),
    "29": (lending.renew, True),
    "65": (lending.renew_all, True),
    "17": (lending.item_information, False),
    "15": (lending.hold, True),
}

# The messages we answer, in the order of the status response's "supported messages" (BX):
# patron status, checkout, checkin, block patron, status, resend, login, patron information,
# end session, fee paid, item information, item status update, patron enable, hold, renew,
# renew all.
SUPPORTED = "YYYNYYYYYYYNNYYY"
PROTOCOL_VERSION = "2.00"
TIMEOUT_TENTHS = "100"  # how long the kiosk should wait for us, in tenths of a second
RETRIES = "003"


TRANSLATIONS = Path(shulian.__file__).parent / "web" / "i18n"


def load_translations() -> None:
    """Read the interface's message catalogues (the kiosk's screen messages use them)."""
    i18n.load_catalogs(TRANSLATIONS)


def translate(exc: ShulianError) -> str:
    return exc.localized()


def handle(
    request: Request,
    *,
    state: ConnectionState,
    config: Sip2Config,
    factory: SessionFactory,
    read_factory: SessionFactory,
) -> Response:
    """Answer one request; runs in a worker thread (it may wait on the database)."""
    i18n.set_language(config.language)
    ctx = Context(config=config, state=state, now=config.clock())
    if request.code == "93":
        return login(ctx, read_factory, request)
    if request.code == "99":
        return status(ctx, request)
    if state.kiosk is None:
        return refusal(ctx, request, translate(KioskNotLoggedIn()))
    handler, writes = HANDLERS[request.code]
    try:
        with session_scope(factory if writes else read_factory) as session:
            response = handler(ctx, session, request)
    except ShulianError as exc:
        log.info("kiosk %s: %s refused (%s)", state.kiosk.login, request.code, exc.code)
        response = refusal(ctx, request, translate(exc))
    except Exception as exc:  # a bug or a database outage: refuse, keep serving
        log.error("kiosk %s: %s failed (%s)", state.kiosk.login, request.code, type(exc).__name__)
        response = refusal(ctx, request, translate(ServiceUnavailable()))
    else:
        log.info("kiosk %s: %s ok", state.kiosk.login, request.code)
    if state.password_outcomes:
        _record_password_outcomes(ctx, factory)
    return response


def _record_password_outcomes(ctx: Context, factory: SessionFactory) -> None:
    """The throttle's record of this message's patron passwords, kept whether the message was
    answered or refused (a wrong password refuses a checkout and rolls its work back)."""
    try:
        with session_scope(factory) as session:
            patrons.record_password_outcomes(ctx, session)
    except Exception as exc:
        ctx.state.password_outcomes.clear()
        log.error("kiosk %s: throttle not updated (%s)", ctx.kiosk.login, type(exc).__name__)


def login(ctx: Context, read_factory: SessionFactory, req: Request) -> Response:
    """93 -> 94: the kiosk signs in with its SIP2 account (CN / CO); from then on it works for
    that account's branch, in that account's encoding. Only plain-text credentials are taken."""
    login_id = req.get("CN")
    password = next(iter(req.all("CO")), "")
    plain = (
        req.fixed.get("uid_algorithm", "0") in "0 " and req.fixed.get("pwd_algorithm", "0") in "0 "
    )
    kiosk: KioskInfo | None = None
    if plain and login_id:
        try:
            # A read unit of work: Argon2 takes tens of milliseconds, too long to hold
            # SQLite's write lock for.
            with session_scope(read_factory) as session:
                found = selfservice_service.authenticate_kiosk(
                    session, login=login_id, password=password
                )
                kiosk = KioskInfo(
                    id=found.id,
                    login=found.login,
                    branch=found.branch_code,
                    institution=found.institution_id or found.branch_code,
                    encoding=found.encoding,
                )
        except ShulianError:
            kiosk = None
        except Exception as exc:
            log.error("login failed (%s)", type(exc).__name__)
            kiosk = None
    if kiosk is None:
        ctx.state.kiosk = None  # a failed login ends whatever session the connection had
        ctx.state.forget_patron()
        ctx.state.login_failures += 1
        log.warning("kiosk login refused (%d on this connection)", ctx.state.login_failures)
        return Response("94", "0")
    ctx.state.kiosk = kiosk
    ctx.state.forget_patron()
    log.info("kiosk %s logged in for branch %s", kiosk.login, kiosk.branch)
    return Response("94", "1")


def status(ctx: Context, req: Request) -> Response:
    """99 -> 98: what this kiosk may do. Before login it may do nothing but log in."""
    kiosk = ctx.state.kiosk
    can = kiosk is not None
    fixed = (
        "Y"  # on-line
        + yn(can)  # checkin ok
        + yn(can)  # checkout ok
        + yn(can)  # ACS renewal policy
        + "N"  # status update ok
        + "N"  # off-line ok
        + TIMEOUT_TENTHS
        + RETRIES
        + sip_date(ctx.now, ctx.config.tz)
        + PROTOCOL_VERSION
    )
    resp = Response("98", fixed)
    resp.add("AO", kiosk.institution if kiosk else req.get("AO"))
    resp.add("AM", ctx.config.library_name).add("BX", SUPPORTED)
    if kiosk is not None:
        resp.add("AN", kiosk.branch)
    else:
        resp.add("AF", translate(KioskNotLoggedIn()))
    return resp


def refusal(ctx: Context, req: Request, message: str) -> Response:
    """The response to ``req`` saying no (ok 0, nothing lent or changed), with ``message``."""
    when = sip_date(ctx.now, ctx.config.tz)
    institution = ctx.state.kiosk.institution if ctx.state.kiosk else req.get("AO")
    code = req.code
    resp: Response
    if code in ("23", "63"):
        language = req.fixed.get("language") or "000"
        counts = "0000" * 6 if code == "63" else ""
        resp = Response(
            "24" if code == "23" else "64", "Y" * 4 + " " * 10 + language + when + counts
        )
        resp.add("AO", institution).add("AA", req.get("AA")).add("AE", "")
        resp.add("BL", "N").add("CQ", "N")
    elif code in ("11", "29"):
        resp = Response("12" if code == "11" else "30", "0NUN" + when)
        resp.add("AO", institution).add("AA", req.get("AA")).add("AB", req.get("AB"))
        resp.add("AJ", "").add("AH", "")
    elif code == "09":
        resp = Response("10", "0NUY" + when)
        resp.add("AO", institution).add("AB", req.get("AB")).add("AQ", "")
    elif code == "65":
        resp = Response("66", "0" + "0000" + "0000" + when).add("AO", institution)
    elif code == "17":
        resp = Response("18", "01" + "00" + "01" + when)
        resp.add("AB", req.get("AB")).add("AJ", "")
    elif code == "15":
        resp = Response("16", "0N" + when).add("AO", institution).add("AA", req.get("AA"))
        resp.add("AB", req.get("AB"), optional=True)
    elif code == "37":
        resp = Response("38", "N" + when).add("AO", institution).add("AA", req.get("AA"))
    elif code == "35":
        resp = Response("36", "N" + when).add("AO", institution).add("AA", req.get("AA"))
    else:  # pragma: no cover - every answered code is above; 93/99/97 are never refused
        raise ValueError(code)
    return resp.add("AF", message)
