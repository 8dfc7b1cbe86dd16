"""Exchange formats of the catalogue: MARC21 (ISO 2709), MARCXML, UNIMARC/CNMARC and CSV.

Pure code, no database. ``read_records`` turns a file into ``ParsedRecord`` (a ``BibData`` and
its warnings) or ``RejectedRecord`` (record number, byte offset, 001, reason) one record at a
time, never stopping at a bad record; ``write_records`` writes ``BibData`` back in any format.

Modules: ``iso2709`` (structure), ``encoding`` (MARC-8/UTF-8/GB18030), ``marc21`` and
``unimarc`` (tag mappings), ``marcxml``, ``csvcodec``, ``formats`` (the entry points).
"""

from __future__ import annotations

from shulian.catalog.marc.errors import UnknownEncoding, UnknownRecordFormat
from shulian.catalog.marc.formats import FORMATS, read_records, sniff_format, write_records
from shulian.catalog.marc.model import ParsedRecord, RejectedRecord

__all__ = [
    "FORMATS",
    "ParsedRecord",
    "RejectedRecord",
    "UnknownEncoding",
    "UnknownRecordFormat",
    "read_records",
    "sniff_format",
    "write_records",
]
