"""Tables of self-service devices: the kiosks (自助借还机) that talk SIP2."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from shulian.core.db import Base, UTCDateTime


class Kiosk(Base):
    """A self-check kiosk's SIP2 account: it logs in (93) with ``login`` and its password, and
    lends and returns on behalf of ``branch_code``. ``encoding`` is how it sends and reads text
    (``utf-8``, or ``gb18030`` for the many kiosks in China that speak GBK)."""

    __tablename__ = "kiosks"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200), default="")
    branch_code: Mapped[str] = mapped_column(String(32))
    institution_id: Mapped[str] = mapped_column(String(64), default="")
    encoding: Mapped[str] = mapped_column(String(20), default="utf-8")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
