"""What the login pages show: each login as a row (when, where, with what)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from shulian.accounts.schemas import LoginSessionRead

# First match wins: WeChat's and Edge's browsers also call themselves Chrome and Safari.
_BROWSERS = (
    ("MicroMessenger", "WeChat"),
    ("Edg/", "Edge"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("HarmonyOS", "HarmonyOS"),
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)
_PROGRAM = re.compile(r"^([A-Za-z][\w.-]{0,40})/[\w.-]{1,20}")


def describe_agent(agent: str) -> str:
    """A browser's ``User-Agent`` as a person would say it (``Chrome · Android``); a program's
    as its name (``python-httpx``); empty when there is nothing to go on."""
    browser = next((name for mark, name in _BROWSERS if mark in agent), "")
    system = next((name for mark, name in _SYSTEMS if mark in agent), "")
    if browser or system:
        return " · ".join(part for part in (browser, system) if part)
    program = _PROGRAM.match(agent)
    return program.group(1) if program else ""


@dataclass(frozen=True)
class SessionRow:
    id: int
    api: bool
    current: bool
    started: str
    last_seen: str
    expires: str
    address: str
    device: str


def session_rows(sessions: list[LoginSessionRead], tz: ZoneInfo) -> list[SessionRow]:
    def local(moment: datetime) -> str:
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    return [
        SessionRow(
            id=s.id,
            api=s.channel == "api",
            current=s.current,
            started=local(s.created_at),
            last_seen=local(s.last_seen_at),
            expires=local(s.expires_at),
            address=s.client_address,
            device=describe_agent(s.user_agent),
        )
        for s in sessions
    ]
