"""Bulk import and export of catalogue files (MARC21, MARCXML, UNIMARC/CNMARC, CSV): import jobs
that resume (``jobs``), storing a batch with duplicate detection and merging (``storing``), and
export (``export``). The rules are in ``jobs``."""

from shulian.catalog.importer.export import export_file, iter_bibs
from shulian.catalog.importer.jobs import (
    Progress,
    file_digest,
    import_file,
    note_count,
    open_catalog_file,
    recent_jobs,
    report,
    run_job,
    start_job,
)
from shulian.catalog.importer.storing import allocate_ids

__all__ = [
    "Progress",
    "allocate_ids",
    "export_file",
    "file_digest",
    "import_file",
    "iter_bibs",
    "note_count",
    "open_catalog_file",
    "recent_jobs",
    "report",
    "run_job",
    "start_job",
]
