"""The verifiable ledger: every event of the spine as a leaf of an RFC 9162 Merkle tree, with
signed checkpoints, inclusion and consistency proofs, and an audit of the tree.

Owns the ``ledger_leaves``, ``ledger_nodes`` and ``ledger_checkpoints`` tables. Reads the event
spine only (as the ``ledger`` consumer).

Public operations (``shulian.ledger.service``): ``catch_up``, ``issue_checkpoint``,
``latest_checkpoint``, ``leaf``, ``inclusion_proof``, ``event_proof``, ``consistency_proof``,
``verify_tree``. Pure parts: ``merkle`` (hashing, proofs, verification), ``leaf`` (the canonical
leaf encoding and reader pseudonyms), ``note`` (C2SP signed notes and checkpoints).
"""
