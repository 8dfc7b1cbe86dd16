"""Backup and restore: a portable, logical snapshot of a whole library in one archive.

Owns no tables: it reads and writes every table, as the migrations do, and so sits above the
domains, used by the command line only (``shulian backup``, ``shulian restore``). The same
archive restores on SQLite or PostgreSQL, whichever made it (so it also moves a library from
SQLite to PostgreSQL).

Public operations: ``dump.create_backup`` (a consistent snapshot while the platform runs) and
``restore.restore_backup`` (into an empty database, all or nothing). The format is in
``archive``; the data directory's files (secret, ledger keys, digital resources) in ``datadir``.
"""
