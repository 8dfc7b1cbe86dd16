"""Tables of search: how often each term was searched, per hour (for hot search terms).

The index itself lives on disk beside the database (``data_dir/search``) and is rebuilt from the
catalogue at any time; only the search counts are kept in the database, since they are history
that cannot be rebuilt.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shulian.core.db import Base, UTCDateTime


class SearchCount(Base):
    __tablename__ = "search_counts"
    __table_args__ = (UniqueConstraint("term", "hour"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    term: Mapped[str] = mapped_column(String(100))
    hour: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
