"""Shapes of the library network on the wire."""

from __future__ import annotations

import re
from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shulian.consortium.types import (
    BranchKind as BranchKind,
)

_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,31}$")
_HHMM = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$")


class BranchCreate(BaseModel):
    code: str = Field(description="Short unique code, e.g. CEN or B01")
    name_zh: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    kind: BranchKind
    parent_code: str | None = None
    address: str = Field(default="", max_length=400)
    phone: str = Field(default="", max_length=40)

    @field_validator("code")
    @classmethod
    def _code(cls, v: str) -> str:
        v = v.strip().upper()
        if not _CODE.match(v):
            raise ValueError("use 1-32 letters, digits, '-' or '_'")
        return v


class BranchUpdate(BaseModel):
    name_zh: str | None = Field(default=None, min_length=1, max_length=200)
    name_en: str | None = Field(default=None, min_length=1, max_length=200)
    address: str | None = Field(default=None, max_length=400)
    phone: str | None = Field(default=None, max_length=40)
    active: bool | None = None


class BranchRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name_zh: str
    name_en: str
    kind: BranchKind
    parent_id: int | None
    address: str
    phone: str
    active: bool


class BranchNode(BaseModel):
    branch: BranchRead
    children: list[BranchNode] = []


class DayHours(BaseModel):
    weekday: int = Field(ge=0, le=6, description="0 = Monday ... 6 = Sunday")
    opens: str
    closes: str

    @field_validator("opens", "closes")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        if not _HHMM.match(v):
            raise ValueError("use HH:MM, 00:00 to 24:00")
        return v


class WeeklyHours(BaseModel):
    days: list[DayHours]


class ClosedDayCreate(BaseModel):
    day: date
    reason: str = Field(default="", max_length=200)


class ClosedDayRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    day: date
    reason: str


class CalendarRead(BaseModel):
    branch_code: str
    hours: list[DayHours]
    closed_days: list[ClosedDayRead]
