"""Shapes of readers, staff and logins on the wire."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from shulian.accounts.types import (
    ReaderStatus as ReaderStatus,
)

_CARD = re.compile(r"^[A-Za-z0-9-]{3,32}$")
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


def _check_card(v: str) -> str:
    v = v.strip().upper()
    if not _CARD.match(v):
        raise ValueError("use 3-32 letters, digits or '-'")
    return v


class ReaderCreate(BaseModel):
    card_number: str
    name: str = Field(min_length=1, max_length=200)
    category: str = "adult"
    phone: str = Field(default="", max_length=40)
    email: EmailStr | Literal[""] = ""
    home_branch: str = Field(description="Code of the reader's home branch")
    expires_on: date
    password: str | None = Field(default=None, min_length=6, max_length=128)

    _card = field_validator("card_number")(_check_card)


class ReaderUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    category: str | None = None
    phone: str | None = Field(default=None, max_length=40)
    email: EmailStr | Literal[""] | None = None
    home_branch: str | None = None
    expires_on: date | None = None
    status: ReaderStatus | None = None


class ReaderRead(BaseModel):
    """A reader as staff and the reader themself see it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    card_number: str
    name: str
    category: str
    phone: str
    email: str
    home_branch: str
    status: ReaderStatus
    expires_on: date
    points: int


class ReaderPage(BaseModel):
    items: list[ReaderRead]
    total: int
    page: int
    size: int


class StaffCreate(BaseModel):
    username: str
    display_name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=8, max_length=128)
    branch: str | None = Field(default=None, description="Code of the staff member's branch")
    roles: list[str] = Field(default_factory=list)

    @field_validator("username")
    @classmethod
    def _username(cls, v: str) -> str:
        v = v.strip().lower()
        if not _USERNAME.match(v):
            raise ValueError("use 2-64 lowercase letters, digits, '.', '_' or '-'")
        return v


class StaffRead(BaseModel):
    id: int
    username: str
    display_name: str
    branch: str | None
    roles: list[str]
    active: bool


class LoginRequest(BaseModel):
    kind: Literal["staff", "reader"]
    account: str = Field(min_length=1, max_length=64, description="Username or card number")
    password: str = Field(min_length=1, max_length=128)


class TokenRead(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int


class MeRead(BaseModel):
    kind: Literal["staff", "reader"]
    id: int
    display_name: str
    branch: str | None
    permissions: list[str]


class ReaderQRRead(BaseModel):
    """What the reader's phone shows: a signed, expiring code for desks and kiosks to scan."""

    code: str
    expires_in: int
    svg: str


class ReaderQRResolve(BaseModel):
    code: str = Field(min_length=1, max_length=512)


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=128)
    new_password: str = Field(min_length=6, max_length=128)


class StaffUpdate(BaseModel):
    """What an administrator changes on a staff account: disabling one ends all its logins."""

    active: bool


class LoginSessionRead(BaseModel):
    """One live login of an account, as its owner (or a staff manager) sees it."""

    id: int
    channel: Literal["page", "api"] = Field(description="A page login (cookie) or an API token")
    created_at: datetime
    last_seen_at: datetime = Field(description="To within a minute or so")
    expires_at: datetime
    client_address: str = Field(description="The address it logged in from")
    user_agent: str = Field(description="The browser or program it logged in with")
    current: bool = Field(description="The login this request came with")
