"""Pages of accounts: logging in and out, a reader's QR card and changing one's password
(``pages.py``); registering and looking up readers at the desk (``staff.py``)."""
