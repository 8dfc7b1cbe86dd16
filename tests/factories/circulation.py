"""Builders for circulation: a small network with readers and copies ready to lend."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from shulian.accounts.models import Reader
from shulian.catalog.models import Item, Record
from tests.factories.accounts import make_reader
from tests.factories.catalog import make_item, make_record
from tests.factories.consortium import make_network


@dataclass
class Library:
    readers: list[Reader]
    record: Record
    items: list[Item]
    other: Record
    other_items: list[Item] = field(default_factory=list)

    @property
    def reader(self) -> Reader:
        return self.readers[0]


def make_library(
    session: Session, *, readers: int = 3, copies: tuple[str, ...] = ("CEN", "B01")
) -> Library:
    """The network of ``make_network``, ``readers`` adult readers at CEN, a published title with
    one copy at each branch in ``copies``, and a second title with one copy at CEN."""
    make_network(session)
    people = [make_reader(session, name=f"读者{i}") for i in range(readers)]
    record = make_record(session, publish=True)
    items = [make_item(session, record, branch=b) for b in copies]
    other = make_record(session, publish=True, title="呐喊")
    return Library(people, record, items, other, [make_item(session, other, branch="CEN")])
