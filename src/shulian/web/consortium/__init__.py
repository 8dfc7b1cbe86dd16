"""Pages of the library network (总分馆): the branch tree and each branch's page with its opening
hours and closed days. Public: anyone may look.

The reference for a domain's pages, to copy when adding one:

- ``pages.py``: the routes (one ``APIRouter``, listed in ``shulian.web.ROUTERS``). Thin: parse,
  call one function of ``shulian.consortium.service``, render.
- ``views.py``: what the pages need around the service (labels, lookups for templates); nothing
  there writes.
- Templates under ``web/templates/consortium/`` (staff pages under ``consortium/staff/``), each
  extending ``base.html``; every visible string has its Chinese in ``web/i18n/zh_CN.po``.
- Tests in ``tests/web/consortium/test_pages.py``.
"""
