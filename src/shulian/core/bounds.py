"""Bounds for every integer the platform accepts, as ``Annotated`` types for routes and schemas.

An integer a client sends (a path id, a page, a body field) reaches the database as a bound
parameter: past 64 bits the SQLite driver raises ``OverflowError``, and past the column's type
PostgreSQL refuses the statement. Either way the client would get a 500 for a typo. Declaring the
range here makes FastAPI refuse it first, with a 422 naming the field, and prints the range in
the OpenAPI document. ``tests/test_bounds.py`` fails when a route accepts an integer without one.

- ``Id``: a row's id (``INTEGER`` on PostgreSQL: 1 to 2**31 - 1).
- ``Seq`` / ``Position``: an event's number in the spine (from 1) and a 0-based place or size in
  the ledger (``BIGINT``: up to 2**63 - 1).
- ``Page``: a page of a listing, from 1.
- ``Count``: a quantity stored in an ``INTEGER`` column (a version, a size in bytes).
- ``Cents``: an amount of money in cents, up to ten million yuan.
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
#: Deeper than anyone pages by hand; offsets stay small for every page size we allow.
MAX_PAGE = 100_000
#: Ten million yuan: more than any one copy, fine or payment, and inside an ``INTEGER`` column.
MAX_CENTS = 1_000_000_000

Id = Annotated[int, Ge(1), Le(INT32_MAX)]
Seq = Annotated[int, Ge(1), Le(INT64_MAX)]
Position = Annotated[int, Ge(0), Le(INT64_MAX)]
Page = Annotated[int, Ge(1), Le(MAX_PAGE)]
Count = Annotated[int, Ge(0), Le(INT32_MAX)]
Cents = Annotated[int, Ge(0), Le(MAX_CENTS)]
