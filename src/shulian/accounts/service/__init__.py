"""Operations on readers, staff and logins: the only door other packages use. Callers own the
transaction; nothing here commits.

Events carry ids and codes only; a reader's name, phone and e-mail never enter the spine.
``Reader`` and ``StaffAccount`` are named here as the types these functions return: other
packages may hold and read them, never query their tables.
"""

from shulian.accounts.models import Reader, StaffAccount
from shulian.accounts.service.logins import (
    authenticate_reader,
    authenticate_staff,
    change_password,
    principal_for,
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
from shulian.accounts.service.staff import (
    create_staff,
    get_staff,
    list_roles,
    list_staff,
    staff_permissions,
    staff_read,
    staff_roles,
)

__all__ = [
    "QR_PREFIX",
    "Reader",
    "StaffAccount",
    "audit_reader_states",
    "authenticate_reader",
    "authenticate_staff",
    "change_password",
    "create_staff",
    "find_reader_by_card",
    "get_reader",
    "get_staff",
    "issue_reader_qr",
    "list_categories",
    "list_readers",
    "list_roles",
    "list_staff",
    "principal_for",
    "reader_read",
    "reader_state",
    "register_reader",
    "resolve_reader_qr",
    "staff_permissions",
    "staff_read",
    "staff_roles",
    "update_reader",
]
