"""Rendering pages in the request's language."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from shulian.core import i18n
from shulian.core.deps import CSRF_FIELD
from shulian.core.i18n import LANGUAGES

LANG_COOKIE = "shulian_lang"
TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    return env


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    lang = i18n.current_language()
    # A page login's form token (see ``web.session``): every form that posts carries it, htmx
    # sends it as a header.
    token: str = getattr(request.state, "csrf_token", "")
    ctx: dict[str, Any] = {
        "request": request,
        "lang": lang,
        "languages": LANGUAGES,
        "principal": getattr(request.state, "principal", None),
        "path": request.url.path,
        "localized": lambda zh, en: zh if lang == "zh-CN" else en,
        "csrf_token": token,
        "csrf_field": (
            Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, token)
            if token
            else ""
        ),
    }
    ctx.update(context or {})
    html = environment().get_template(template).render(ctx)
    return HTMLResponse(html, status_code=status_code)
