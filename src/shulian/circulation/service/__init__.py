"""Circulation operations: the only door other packages use (see the package docstring)."""

from shulian.circulation.service.account import (
    anonymise_history,
    loan_counts,
    loan_receipt,
    preferences,
    queue_due_notices,
    reader_account,
    reader_blocks,
    reading_history,
    set_preferences,
    transits,
)
from shulian.circulation.service.audit import (
    audit_fine_states,
    audit_hold_states,
    audit_loan_states,
)
from shulian.circulation.service.common import balance, library_tz
from shulian.circulation.service.fines import accrue_fines, pay, waive
from shulian.circulation.service.holds import (
    cancel_hold,
    expire_holds,
    hold_shelf,
    pick_list,
    place_hold,
    reader_holds,
)
from shulian.circulation.service.loans import check_in, check_out, item_status, renew, renew_all
from shulian.circulation.service.rules import (
    create_rule,
    delete_rule,
    explain,
    list_options,
    list_rules,
    set_option,
    set_transit_time,
    update_rule,
)

__all__ = [
    "accrue_fines",
    "anonymise_history",
    "audit_fine_states",
    "audit_hold_states",
    "audit_loan_states",
    "balance",
    "cancel_hold",
    "check_in",
    "check_out",
    "create_rule",
    "delete_rule",
    "expire_holds",
    "explain",
    "hold_shelf",
    "item_status",
    "library_tz",
    "list_options",
    "list_rules",
    "loan_counts",
    "loan_receipt",
    "pay",
    "pick_list",
    "place_hold",
    "preferences",
    "queue_due_notices",
    "reader_account",
    "reader_blocks",
    "reader_holds",
    "reading_history",
    "renew",
    "renew_all",
    "set_option",
    "set_preferences",
    "set_transit_time",
    "transits",
    "update_rule",
    "waive",
]
