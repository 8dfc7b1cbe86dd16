"""Pages of the catalogue: search, record pages, the CLC tree and the barcode scanner for readers
(``pages.py``); the review queue, the record editor, items and imports for staff (``staff.py``);
the forms and links both need (``views.py``)."""
