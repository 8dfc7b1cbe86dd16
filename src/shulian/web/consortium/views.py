"""What the pages need around the consortium service: the names of the kinds of service point,
and every branch's names for templates that show a branch code."""

from __future__ import annotations

from sqlalchemy.orm import Session

from shulian.consortium import service as consortium_service
from shulian.consortium.schemas import BranchKind

#: Translated in the templates (``_(kinds[b.kind])``); ``tests/web/test_i18n.py`` checks each.
KIND_LABELS = {
    BranchKind.CENTRAL: "Central library",
    BranchKind.BRANCH: "Branch",
    BranchKind.SELF_SERVICE: "24-hour self-service library",
    BranchKind.DELIVERY_POINT: "Delivery point",
}


def branch_names(session: Session) -> dict[str, tuple[str, str]]:
    """Chinese and English names by branch code, closed branches included (old loans and
    holds still name them)."""
    return {
        b.code: (b.name_zh, b.name_en)
        for b in consortium_service.list_branches(session, include_inactive=True)
    }
