"""The verifiable ledger: every event of the spine as a leaf of an RFC 9162 Merkle tree, with
signed checkpoints, inclusion and consistency proofs, an audit of the tree, and witnessing
(libraries cosigning each other's checkpoints).

Owns the ``ledger_leaves``, ``ledger_nodes`` and ``ledger_checkpoints`` tables, and for
witnessing ``ledger_peers``, ``ledger_witnesses``, ``ledger_cosignatures`` and
``ledger_split_views``. Reads the event spine only (as the ``ledger`` consumer).

Public operations (``shulian.ledger.service``): ``catch_up``, ``issue_checkpoint``,
``latest_checkpoint``, ``leaf``, ``inclusion_proof``, ``event_proof``, ``consistency_proof``,
``verify_tree``. Witnessing (``shulian.ledger.witness``): ``witness_peer``, ``list_peers``,
``list_split_views``; cosignatures on our checkpoints (``shulian.ledger.cosignatures``):
``receive_cosignatures``, ``checkpoint_note``, ``trust_witness``, ``untrust_witness``,
``list_cosignatures``, ``list_witnesses``. Pure parts: ``merkle`` (hashing, proofs,
verification), ``leaf`` (the canonical leaf encoding and reader pseudonyms), ``note`` (C2SP
signed notes and checkpoints), ``cosign`` (C2SP cosignatures), ``check`` (a checkpoint or a
receipt checked against a verifier key, as the public verify page does in the browser); ``peer``
reads a peer over HTTP.
"""
