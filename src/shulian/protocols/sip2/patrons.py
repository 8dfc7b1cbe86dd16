"""Patron messages: status (23), information (63), fee paid (37), end session (35).

A patron is the reader whose card number the kiosk sends in AA. A password in AD, when given, is
checked against the reader's; a blank one is accepted unless the server requires passwords
(``Sip2Config.require_patron_password``), since most kiosks lend on the card alone.

Password checks share the web logins' throttle (``accounts.service.check_login_throttle``), the
kiosk standing for the client address: five wrong passwords for one card at one kiosk hold that
card back at that kiosk, twenty at one kiosk hold the kiosk's password checks back, and a card
tried at several kiosks is slowed down at those that failed, never at the others. A held-back
check answers "password not valid" (CQ N) with the time to wait on the screen, without Argon2.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from sqlalchemy.orm import Session

from shulian.accounts import service as accounts_service
from shulian.accounts.errors import TooManyLoginAttempts
from shulian.circulation import service as circulation_service
from shulian.circulation.schemas import AccountRead
from shulian.core.errors import NotFound
from shulian.core.i18n import gettext
from shulian.core.security import verify_password
from shulian.protocols.sip2.codec import Request, Response, count4, sip_date, yn
from shulian.protocols.sip2.errors import (
    BadFeeAmount,
    PatronNotValid,
    PatronPasswordRequired,
    PatronPasswordWrong,
    UnsupportedCurrency,
)
from shulian.protocols.sip2.state import Context

CURRENCY = "CNY"
DEFAULT_ITEMS = 20  # item lines sent when the kiosk asks for no range (BP/BQ)
NOT_LENDING = ("left", "lost_card")


def money(cents: int) -> str:
    return f"{cents / 100:.2f}"


def mask_name(name: str) -> str:
    """A name fit for a public screen: the first character, the rest starred (张三 -> 张*)."""
    name = name.strip()
    return name[:1] + "".join(" " if ch == " " else "*" for ch in name[1:])


def find_patron(session: Session, card: str) -> accounts_service.Reader | None:
    try:
        return accounts_service.find_reader_by_card(session, card)
    except NotFound:
        return None


def _attempt(ctx: Context, card: str) -> accounts_service.LoginAttempt:
    return accounts_service.LoginAttempt(
        kind="reader",
        account=card.strip().upper(),
        client=f"kiosk:{ctx.kiosk.id}",
        secret=ctx.config.throttle_secret,
    )


def password_ok(
    ctx: Context, session: Session, reader: accounts_service.Reader, card: str, password: str
) -> bool:
    """Whether the kiosk may act for this reader with this password (AD).

    Raises: TooManyLoginAttempts when the throttle holds this card back at this kiosk.
    """
    if not password:
        return not ctx.config.require_patron_password
    if ctx.state.knows_patron(card, password):
        return True
    accounts_service.check_login_throttle(
        session,
        attempt=_attempt(ctx, card),
        now=ctx.now,
        max_failures=ctx.config.patron_max_failures,
        window=ctx.throttle_window,
    )
    if verify_password(reader.password_hash, password):
        ctx.state.remember_patron(card, password)
        ctx.state.password_outcomes.append(("passed", card))
        return True
    ctx.state.password_outcomes.append(("failed", card))
    return False


def record_password_outcomes(ctx: Context, session: Session) -> None:
    """Write the throttle's side of this message's password checks (its own unit of work)."""
    outcomes, ctx.state.password_outcomes = ctx.state.password_outcomes, []
    for outcome, card in outcomes:
        if outcome == "failed":
            accounts_service.record_login_failure(session, attempt=_attempt(ctx, card), now=ctx.now)
        else:
            accounts_service.clear_login_failures(session, attempt=_attempt(ctx, card))


def patron(ctx: Context, session: Session, req: Request) -> accounts_service.Reader:
    """The reader named by AA, once their password (AD) passes.

    Raises: ReaderNotFound, TooManyLoginAttempts, PatronPasswordRequired, PatronPasswordWrong,
    PatronNotValid.
    """
    card = req.get("AA")
    reader = accounts_service.find_reader_by_card(session, card)
    password = req.get("AD")
    if not password_ok(ctx, session, reader, card, password):
        if not password:
            raise PatronPasswordRequired()
        raise PatronPasswordWrong()
    if reader.status in NOT_LENDING:
        raise PatronNotValid()
    return reader


def status_flags(reader: accounts_service.Reader | None, account: AccountRead | None) -> str:
    """The 14 patron-status flags: Y where a privilege is denied, blank elsewhere."""
    flags = [" "] * 14
    if reader is None or account is None:
        return "Y" * 4 + " " * 10
    status = str(reader.status)
    if account.blocks or status != "active":
        flags[0] = "Y"  # charge privileges denied
    if status != "active":
        flags[1] = flags[2] = flags[3] = "Y"  # renewal, recall, hold privileges denied
    if status == "lost_card":
        flags[4] = "Y"
    if account.blocks and any(loan.overdue for loan in account.loans):
        flags[6] = "Y"  # too many items overdue
    if account.blocks and account.balance_cents > 0:
        flags[10] = "Y"  # excessive outstanding fines
    return "".join(flags)


def _patron_header(
    ctx: Context,
    req: Request,
    code: str,
    reader: accounts_service.Reader | None,
    account: AccountRead | None,
) -> Response:
    language = req.fixed.get("language") or "000"
    return Response(
        code, status_flags(reader, account) + language + sip_date(ctx.now, ctx.config.tz)
    )


def _patron_fields(
    ctx: Context,
    resp: Response,
    req: Request,
    reader: accounts_service.Reader | None,
    account: AccountRead | None,
    password_valid: bool,
) -> Response:
    resp.add("AO", ctx.kiosk.institution).add("AA", req.get("AA"))
    resp.add("AE", mask_name(reader.name) if reader else "")
    resp.add("BL", yn(reader is not None and str(reader.status) not in NOT_LENDING))
    resp.add("CQ", yn(reader is not None and password_valid))
    if account is not None:
        resp.add("BH", CURRENCY).add("BV", money(account.balance_cents))
    return resp


def _screen(
    resp: Response, reader: accounts_service.Reader | None, account: AccountRead | None
) -> Response:
    if reader is None:
        resp.add("AF", gettext("This library card is not valid"))
    elif account is not None and account.blocks:
        resp.add("AF", "; ".join(gettext(b) for b in account.blocks))
    return resp


def _lookup(
    ctx: Context, session: Session, req: Request
) -> tuple[accounts_service.Reader | None, AccountRead | None, bool, str]:
    """The patron, their account, whether the password passed, and why it was not checked
    (the throttle's wait, for the screen); an unknown card is not an error here: the response
    says so (BL N)."""
    card = req.get("AA")
    reader = find_patron(session, card) if card else None
    if reader is None:
        return None, None, False, ""
    held = ""
    try:
        valid = password_ok(ctx, session, reader, card, req.get("AD"))
    except TooManyLoginAttempts as exc:
        valid, held = False, exc.localized()
    account = circulation_service.reader_account(session, reader_id=reader.id, now=ctx.now)
    return reader, account, valid, held


def patron_status(ctx: Context, session: Session, req: Request) -> Response:
    """23 -> 24: whether the card is valid, its password right, and what the patron owes."""
    reader, account, valid, held = _lookup(ctx, session, req)
    resp = _patron_header(ctx, req, "24", reader, account)
    _patron_fields(ctx, resp, req, reader, account, valid)
    if held:
        resp.add("AF", held)
    return _screen(resp, reader, account)


def patron_information(ctx: Context, session: Session, req: Request) -> Response:
    """63 -> 64: patron status plus counts, and the one list of items the summary asks for
    (holds ready, overdue, on loan, fines, or holds still waiting)."""
    reader, account, valid, held = _lookup(ctx, session, req)
    resp = _patron_header(ctx, req, "64", reader, account)
    if reader is None or account is None or not valid:
        resp.fixed += "0000" * 6
        _patron_fields(ctx, resp, req, reader, account if valid else None, valid)
        if reader is not None and not valid:
            resp.add("AF", held or gettext("Wrong card number or password"))
        return _screen(resp, reader, None)
    ready = [h for h in account.holds if str(h.status) == "ready"]
    waiting = [h for h in account.holds if str(h.status) in ("waiting", "in_transit")]
    overdue = [loan for loan in account.loans if loan.overdue]
    fines = [f for f in account.fines if f.owed_cents > 0]
    resp.fixed += "".join(
        count4(n)
        for n in (len(ready), len(overdue), len(account.loans), len(fines), 0, len(waiting))
    )
    _patron_fields(ctx, resp, req, reader, account, valid)
    lists: list[tuple[str, list[str]]] = [
        ("AS", [h.barcode or h.title for h in ready]),
        ("AT", [loan.barcode for loan in overdue]),
        ("AU", [loan.barcode for loan in account.loans]),
        ("AV", [f"{money(f.owed_cents)} {f.title or f.kind}" for f in fines]),
        ("BU", []),
        ("CD", [h.barcode or h.title for h in waiting]),
    ]
    summary = req.fixed.get("summary", "")
    wanted = next((i for i, ch in enumerate(summary[:6]) if ch.upper() == "Y"), None)
    if wanted is not None:
        tag, values = lists[wanted]
        start, end = _range(req)
        for value in values[start - 1 : end]:
            resp.add(tag, value)
    return _screen(resp, reader, account)


def _range(req: Request) -> tuple[int, int]:
    try:
        start = max(int(req.get("BP") or 1), 1)
    except ValueError:
        start = 1
    try:
        end = int(req.get("BQ") or start + DEFAULT_ITEMS - 1)
    except ValueError:
        end = start + DEFAULT_ITEMS - 1
    return start, max(min(end, start + 199), start)


def end_session(ctx: Context, session: Session, req: Request) -> Response:
    """35 -> 36: the patron is done; the kiosk forgets their verified password."""
    ctx.state.forget_patron()
    resp = Response("36", "Y" + sip_date(ctx.now, ctx.config.tz))
    resp.add("AO", ctx.kiosk.institution).add("AA", req.get("AA"))
    return resp.add("AF", gettext("Thank you, goodbye"))


def parse_amount(text: str) -> int:
    """``12.5`` / ``12.50`` / ``12`` -> cents. Raises: BadFeeAmount."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise BadFeeAmount(text) from None
    cents = value * 100
    if not value.is_finite() or cents != cents.to_integral_value() or value <= 0:
        raise BadFeeAmount(text)
    return int(cents)


def fee_paid(ctx: Context, session: Session, req: Request) -> Response:
    """37 -> 38: a payment taken at the kiosk, in CNY, settles the oldest fines first."""
    currency = req.fixed.get("currency_type", "").strip().upper()
    if currency not in ("", CURRENCY):
        raise UnsupportedCurrency(currency)
    cents = parse_amount(req.get("BV"))
    reader = patron(ctx, session, req)
    note = (
        f"SIP2 fee type {req.fixed.get('fee_type', '').strip()}, "
        f"payment type {req.fixed.get('payment_type', '').strip()}"
    )
    owed = circulation_service.pay(
        session,
        reader_id=reader.id,
        amount_cents=cents,
        actor=ctx.kiosk.actor,
        now=ctx.now,
        note=note,
    )
    resp = Response("38", "Y" + sip_date(ctx.now, ctx.config.tz))
    resp.add("AO", ctx.kiosk.institution).add("AA", req.get("AA"))
    resp.add("BK", req.get("BK"), optional=True)
    resp.add(
        "AF",
        gettext("Paid {amount}; still owed {balance}").format(
            amount=f"¥{money(cents)}", balance=f"¥{money(owed)}"
        ),
    )
    return resp
