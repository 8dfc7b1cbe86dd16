"""Builders for records and items."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy.orm import Session

from shulian.catalog import service
from shulian.catalog.bib import Role
from shulian.catalog.models import Item, Record
from shulian.catalog.schemas import ContributorIn, ItemCreate, RecordCreate
from tests.conftest import NOW

_seq = itertools.count(1)


def record_data(**overrides: Any) -> RecordCreate:
    data: dict[str, Any] = {
        "title": "狂人日记",
        "other_titles": ["Kuang ren ri ji"],
        "contributors": [ContributorIn(name="鲁迅", role=Role.AUTHOR)],
        "publisher": "人民文学出版社",
        "place": "北京",
        "year": 1973,
        "isbns": [],
        "language": "chi",
        "subjects": ["短篇小说 -- 中国 -- 现代"],
        "clc": "I210.6",
        "summary": "中国现代文学史上第一篇白话小说。",
    }
    data.update(overrides)
    return RecordCreate(**data)


def make_record(session: Session, *, publish: bool = False, **overrides: Any) -> Record:
    """A record entered by ``cataloguer``; ``publish`` takes it through review and publishing."""
    record = service.create_record(
        session, data=record_data(**overrides), actor="staff:cataloguer", now=NOW
    )
    if publish:
        for action, actor in (
            ("submit", "staff:cataloguer"),
            ("approve", "staff:reviewer"),
            ("publish", "staff:publisher"),
        ):
            service.transition(session, record_id=record.id, action=action, actor=actor, now=NOW)
    return record


def make_item(session: Session, record: Record, *, branch: str = "CEN", **overrides: Any) -> Item:
    data: dict[str, Any] = {
        "barcode": f"T{next(_seq):07d}",
        "branch": branch,
        "floor": "3F",
        "shelf_range": "12",
        "shelf": "4",
        "layer": 2,
        "position": 7,
        "call_number": "I210.6/1",
    }
    data.update(overrides)
    return service.add_item(
        session, record_id=record.id, data=ItemCreate(**data), actor="staff:cataloguer", now=NOW
    )
