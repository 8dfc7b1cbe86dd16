"""Shapes of self-service devices on the wire."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

_LOGIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

# What a kiosk may be set to send and read, by the names we store; GBK kiosks are served as
# GB18030, its superset.
KIOSK_ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "gb18030": "gb18030", "gbk": "gb18030"}


class KioskCreate(BaseModel):
    login: str = Field(description="The SIP2 login user id (CN) the kiosk sends")
    password: str = Field(min_length=8, max_length=128)
    name: str = Field(default="", max_length=200)
    branch_code: str = Field(description="The branch it lends and returns for")
    institution_id: str = Field(default="", max_length=64, description="AO; default the branch")
    encoding: str = "utf-8"

    @field_validator("login")
    @classmethod
    def _login(cls, v: str) -> str:
        v = v.strip()
        if not _LOGIN.match(v):
            raise ValueError("use 1-64 letters, digits, '.', '_' or '-'")
        return v

    @field_validator("branch_code")
    @classmethod
    def _branch(cls, v: str) -> str:
        return v.strip().upper()

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, v: str) -> str:
        return v.strip().lower()


class KioskRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    login: str
    name: str
    branch_code: str
    institution_id: str
    encoding: str
    active: bool
    created_at: datetime
