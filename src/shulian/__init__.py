"""Shulian (书链): an open-source smart-library platform.

One installable package, a modular monolith: each domain is a sub-package with a narrow public
face (its ``service`` and ``schemas`` modules). See ``ARCHITECTURE.md`` for the design.
"""

__version__ = "0.1.0"
