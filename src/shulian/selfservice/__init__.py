"""Self-service: 24-hour libraries and their devices. Owns the ``kiosks`` table (SIP2 accounts of
self-check machines). Public operations (``shulian.selfservice.service``): ``create_kiosk``,
``authenticate_kiosk``, ``list_kiosks``."""
