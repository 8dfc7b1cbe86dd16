"""Server-rendered pages (Jinja2 + htmx), static assets and the interface catalogues.

One sub-package per domain (``catalog/``, ``circulation/``, ``ledger/``, ``accounts/``,
``notify/``, ``consortium/``: the one to copy), its templates under ``templates/<domain>/`` and
its staff pages' under ``templates/<domain>/staff/``; ``shell.py`` holds what belongs to no
domain (home page, language switch, staff home, error page); ``render.py`` and ``forms.py`` serve
them all.

Phone-first: every page works on a 360-px-wide screen and on a desktop. Front-end libraries come
from npm (``package.json``) and are copied into ``static/vendor/`` by ``make assets``; nothing
loads from a CDN.
"""

from __future__ import annotations

from fastapi import APIRouter

from shulian.web import shell
from shulian.web.accounts import (
    pages as accounts_pages,
    staff as accounts_staff,
    staff_accounts as accounts_staff_accounts,
)
from shulian.web.catalog import pages as catalog_pages, staff as catalog_staff
from shulian.web.circulation import (
    desk as circulation_desk,
    pages as circulation_pages,
    rules as circulation_rules,
)
from shulian.web.consortium import pages as consortium_pages
from shulian.web.ledger import pages as ledger_pages
from shulian.web.notify import pages as notify_pages

#: Every page router, mounted by ``shulian.api`` in this order (a route is matched in the order
#: it was added: within a router, fixed paths such as ``/staff/rules/new`` come before
#: ``/staff/rules/{rule_id}``). A new domain adds its routers here.
ROUTERS: tuple[APIRouter, ...] = (
    shell.router,
    consortium_pages.router,
    accounts_pages.router,
    accounts_staff.router,
    accounts_staff_accounts.router,
    catalog_pages.router,
    catalog_staff.router,
    circulation_pages.router,
    circulation_desk.router,
    circulation_rules.router,
    ledger_pages.router,
    notify_pages.router,
)
