"""Search over the published catalogue: a Tantivy index with Chinese-aware analysis (jieba,
pinyin, Traditional/Simplified folding), facets, suggestions and hot search terms.

Owns the ``search_counts`` table and the index folder ``data_dir/search`` (a replica rebuilt
from the catalogue at will).

Public operations (``shulian.search.service``): ``SearchService`` (``catch_up``, ``reindex``,
``search``, ``suggest``, ``hot_terms``, ``flush_counts``) and ``worker.SearchWorker``.
"""
