"""Catalogue operations: the only door other packages use (see the package docstring).

Callers own the transaction; nothing here commits. ``Record`` and ``Item`` are named here as the
types these functions return: other packages may hold and read them, never query their tables.
"""

from shulian.catalog.models import Item, Record
from shulian.catalog.service.audit import audit_item_states, audit_record_states
from shulian.catalog.service.common import (
    contributors_of,
    get_record,
    isbns_of,
    item_state,
    location_text,
    record_state,
)
from shulian.catalog.service.digital import add_digital, digital_of, remove_digital
from shulian.catalog.service.index import IndexRow, count_published, index_rows, published_ids
from shulian.catalog.service.items import (
    CopyRow,
    add_item,
    copies_in_status,
    get_item,
    items_by_id,
    items_of,
    lendable_count,
    lock_item,
    resolve_scan,
    set_item_status,
    update_item,
)
from shulian.catalog.service.records import (
    clean_isbns,
    create_record,
    holdings,
    list_records,
    record_detail,
    record_read,
    summaries,
    title_of,
    titles_of,
    transition,
    update_record,
)

__all__ = [
    "CopyRow",
    "IndexRow",
    "Item",
    "Record",
    "add_digital",
    "add_item",
    "audit_item_states",
    "audit_record_states",
    "clean_isbns",
    "contributors_of",
    "copies_in_status",
    "count_published",
    "create_record",
    "digital_of",
    "get_item",
    "get_record",
    "holdings",
    "index_rows",
    "isbns_of",
    "item_state",
    "items_by_id",
    "items_of",
    "lendable_count",
    "list_records",
    "location_text",
    "lock_item",
    "published_ids",
    "record_detail",
    "record_read",
    "record_state",
    "remove_digital",
    "resolve_scan",
    "set_item_status",
    "summaries",
    "title_of",
    "titles_of",
    "transition",
    "update_item",
    "update_record",
]
