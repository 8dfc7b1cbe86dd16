"""The permission catalogue and the roles that libraries separate duties by.

Roles are data (``roles``, ``role_permissions``; seeded by the first migration and editable);
this module names every permission the code checks, so a route can never ask for one that no
role could hold.
"""

from __future__ import annotations

from typing import Final

PERMISSIONS: Final[dict[str, str]] = {
    "catalog.record.create": "Enter and edit bibliographic records as drafts",
    "catalog.record.review": "Approve drafts or return them with a comment",
    "catalog.record.publish": "Publish approved records to readers",
    "catalog.item.manage": "Add, edit and withdraw items (copies)",
    "circulation.desk": "Check out, check in and renew at the desk",
    "circulation.rules.manage": "Edit loan rules",
    "circulation.fines.manage": "Take payments and waive fines",
    "accounts.reader.read": "Look up readers and their accounts",
    "accounts.reader.manage": "Register readers, edit and block them",
    "accounts.staff.manage": "Create staff accounts and assign roles",
    "consortium.manage": "Edit the branch network and opening calendars",
    "inventory.stocktake": "Run RFID stocktaking",
    "analytics.view": "See reports and the data wall",
    "ledger.audit": "Audit the ledger",
    "notify.outbox.read": "See the notice outbox: what was sent, what waits, what failed",
    "system.admin": "Administer the platform",
}

# Separation of duties: whoever enters a record is not whoever reviews or publishes it.
ROLES: Final[dict[str, tuple[str, str, tuple[str, ...]]]] = {
    "cataloguer": ("编目员", "Cataloguer", ("catalog.record.create", "catalog.item.manage")),
    "reviewer": ("审校员", "Reviewer", ("catalog.record.review",)),
    "publisher": ("发布员", "Publisher", ("catalog.record.publish",)),
    "circulation": (
        "流通馆员",
        "Circulation desk",
        ("circulation.desk", "accounts.reader.read", "accounts.reader.manage"),
    ),
    "branch_manager": (
        "分馆馆长",
        "Branch manager",
        (
            "circulation.desk",
            "circulation.fines.manage",
            "accounts.reader.read",
            "accounts.reader.manage",
            "inventory.stocktake",
            "analytics.view",
            "notify.outbox.read",
        ),
    ),
    "admin": ("系统管理员", "System administrator", tuple(PERMISSIONS)),
}

READER_CATEGORIES: Final[dict[str, tuple[str, str]]] = {
    "adult": ("成人", "Adult"),
    "student": ("学生", "Student"),
    "child": ("儿童", "Child"),
    "faculty": ("教职工", "Faculty and staff"),
}
