"""The catalogue: bibliographic records, items (copies), digital resources, imports and the
Chinese Library Classification.

Owns the ``records``, ``record_contributors``, ``record_isbns``, ``items``, ``digital_resources``,
``import_jobs`` and ``import_notes`` tables.

Public operations (``shulian.catalog.service``): ``create_record``, ``update_record``,
``transition`` (submit, approve, return, publish, withdraw), ``get_record``, ``record_detail``,
``list_records``, ``add_item``, ``update_item``, ``get_item``, ``resolve_scan``, ``add_digital``,
``remove_digital``, and for search ``index_rows`` (a record with its copies and where they
are), ``published_ids``, ``count_published``. Bulk work: ``shulian.catalog.importer``
(``import_file``, ``export_file``); exchange formats: ``shulian.catalog.marc``; the CLC tree:
``shulian.catalog.clc``.
"""
