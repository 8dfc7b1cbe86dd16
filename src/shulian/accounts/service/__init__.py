"""Operations on readers, staff, logins and login sessions: the only door other packages use.
Callers own the transaction; nothing here commits.

Events carry ids and codes only; a reader's name, phone and e-mail never enter the spine.
``Reader`` and ``StaffAccount`` are named here as the types these functions return: other
packages may hold and read them, never query their tables.
"""

from shulian.accounts.models import Reader, StaffAccount
from shulian.accounts.service.logins import (
    LoginAttempt,
    authenticate_reader,
    authenticate_staff,
    change_password,
    check_login_throttle,
    clear_login_failures,
    record_login_failure,
)
from shulian.accounts.service.readers import (
    QR_PREFIX,
    audit_reader_states,
    find_reader_by_card,
    get_reader,
    issue_reader_qr,
    list_categories,
    list_readers,
    reader_read,
    reader_state,
    register_reader,
    resolve_reader_qr,
    update_reader,
)
from shulian.accounts.service.revocation import revoke_account_sessions
from shulian.accounts.service.sessions import (
    Channel,
    OpenedSession,
    end_session,
    list_sessions,
    log_out_everywhere,
    open_session,
    principal_for_token,
    purge_expired,
    record_last_seen,
    revoke_all_staff_sessions,
    revoke_own_session,
    revoke_staff_session,
    staff_sessions,
)
from shulian.accounts.service.staff import (
    create_staff,
    get_staff,
    list_roles,
    list_staff,
    set_staff_active,
    staff_permissions,
    staff_read,
    staff_roles,
)

__all__ = [
    "QR_PREFIX",
    "Channel",
    "LoginAttempt",
    "OpenedSession",
    "Reader",
    "StaffAccount",
    "audit_reader_states",
    "authenticate_reader",
    "authenticate_staff",
    "change_password",
    "check_login_throttle",
    "clear_login_failures",
    "create_staff",
    "end_session",
    "find_reader_by_card",
    "get_reader",
    "get_staff",
    "issue_reader_qr",
    "list_categories",
    "list_readers",
    "list_roles",
    "list_sessions",
    "list_staff",
    "log_out_everywhere",
    "open_session",
    "principal_for_token",
    "purge_expired",
    "reader_read",
    "reader_state",
    "record_last_seen",
    "record_login_failure",
    "register_reader",
    "resolve_reader_qr",
    "revoke_account_sessions",
    "revoke_all_staff_sessions",
    "revoke_own_session",
    "revoke_staff_session",
    "set_staff_active",
    "staff_permissions",
    "staff_read",
    "staff_roles",
    "staff_sessions",
    "update_reader",
]
