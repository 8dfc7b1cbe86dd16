"""Pages of the ledger: the public verify page and the staff explorer (``pages.py``); the growth
chart, times and texts they show (``views.py``)."""
