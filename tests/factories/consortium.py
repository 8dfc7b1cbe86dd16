"""Builders for the library network."""

from __future__ import annotations

from sqlalchemy.orm import Session

from shulian.consortium import service
from shulian.consortium.models import Branch
from shulian.consortium.schemas import BranchCreate, BranchKind
from tests.conftest import NOW


def make_network(session: Session) -> dict[str, Branch]:
    """A central library (CEN) with a branch (B01), a 24-hour point (S01) under B01 and a
    delivery point (D01)."""
    spec = [
        ("CEN", BranchKind.CENTRAL, None),
        ("B01", BranchKind.BRANCH, "CEN"),
        ("S01", BranchKind.SELF_SERVICE, "B01"),
        ("D01", BranchKind.DELIVERY_POINT, "CEN"),
    ]
    out = {}
    for code, kind, parent in spec:
        out[code] = service.create_branch(
            session,
            data=BranchCreate(
                code=code,
                name_zh=f"{code} 馆",
                name_en=f"{code} library",
                kind=kind,
                parent_code=parent,
            ),
            actor="test",
            now=NOW,
        )
    return out
