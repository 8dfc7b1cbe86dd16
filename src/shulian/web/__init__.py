"""Server-rendered pages (Jinja2 + htmx), static assets and the interface catalogues.

Phone-first: every page works on a 360-px-wide screen and on a desktop. Front-end libraries come
from npm (``package.json``) and are copied into ``static/vendor/`` by ``make assets``; nothing
loads from a CDN.
"""
