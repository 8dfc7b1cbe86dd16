"""``python -m shulian.cli``, as the ``shulian`` command."""

import sys

from shulian.cli import app

if __name__ == "__main__":  # pragma: no cover - `python -m shulian.cli`
    sys.exit(app())
