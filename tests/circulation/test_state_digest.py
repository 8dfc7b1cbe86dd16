"""The loan digest the ledger audit compares millions of rows by is written out by hand: it must
be exactly the state digest of the loan's state, from driver values on either database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings, strategies as st

from shulian.circulation.service import audit as circulation_audit
from shulian.circulation.service.common import loan_state_digest, loan_state_of
from shulian.core.events import state_digest

times = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
branches = st.text(min_size=1, max_size=8)  # any text: quotes, escapes, 汉字 and all


@settings(max_examples=300, deadline=None)
@given(
    item=st.integers(1, 2**62),
    reader=st.one_of(st.none(), st.integers(1, 2**62)),
    branch=branches,
    out=times,
    due=times,
    renewals=st.integers(0, 99),
    returned=st.one_of(st.none(), times),
    terms=st.text(alphabet="0123456789abcdef", min_size=32, max_size=32),
)
def test_the_hand_written_digest_is_the_state_digest(
    item: int, reader: int | None, branch: str, out: datetime, due: datetime, renewals: int,
    returned: datetime | None, terms: str,
) -> None:  # fmt: skip
    by_definition = state_digest(
        {
            "item": item,
            "reader": f"reader:{reader}" if reader is not None else None,
            "branch": branch,
            "out": out.isoformat(),
            "due": due.isoformat(),
            "renewals": renewals,
            "returned": returned.isoformat() if returned else None,
            "terms": terms,
        }
    )
    assert by_definition == loan_state_of(
        item_id=item, reader_id=reader, branch_code=branch, out_at=out, due_at=due,
        renewals=renewals, returned_at=returned, terms_digest=terms,
    )  # fmt: skip

    # On SQLite the audit reads times as the naive text SQLAlchemy stores.
    def stored(t: datetime) -> str:
        return t.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")

    sqlite_iso = circulation_audit._sqlite_iso
    assert by_definition == loan_state_digest(
        item_id=item, reader_id=reader, branch_code=branch, out=sqlite_iso(stored(out)),
        due=sqlite_iso(stored(due)), renewals=renewals,
        returned=sqlite_iso(stored(returned)) if returned else None, terms_digest=terms,
    )  # fmt: skip


def test_times_stored_in_another_shape_are_still_read() -> None:
    assert circulation_audit._sqlite_iso("2026-11-21 09:30:00") == "2026-11-21T09:30:00+00:00"
    # PostgreSQL hands back aware times in the session's zone: digested in UTC.
    beijing = datetime(2026, 11, 21, 17, 30, 0, 5, tzinfo=timezone(timedelta(hours=8)))
    assert circulation_audit._aware_iso(beijing) == "2026-11-21T09:30:00.000005+00:00"
