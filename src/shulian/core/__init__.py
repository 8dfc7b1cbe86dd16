"""The shared kernel: configuration, database, errors, security, the event spine, i18n, clock.

Owns the ``events`` and ``consumer_offsets`` tables. Imports nothing else of Shulian's.
"""
