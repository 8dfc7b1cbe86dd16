"""Rules of the ledger, as errors."""

from __future__ import annotations

from shulian.core.errors import BadRequest, Conflict, NotFound


class LeafNotFound(NotFound):
    def __init__(self, index: int, size: int) -> None:
        super().__init__(
            "Leaf {index} is not in the ledger (it has {size} leaves)", index=index, size=size
        )


class EventNotInLedger(NotFound):
    def __init__(self, seq: int) -> None:
        super().__init__("Event {seq} is not in the ledger yet", seq=seq)


class NotYetCheckpointed(Conflict):
    def __init__(self, seq: int) -> None:
        super().__init__(
            "Event {seq} is not covered by a signed checkpoint yet; try again in a few seconds",
            seq=seq,
        )


class InvalidProofRequest(BadRequest):
    def __init__(self, reason: str) -> None:
        super().__init__("Invalid proof request: {reason}", reason=reason)


class LedgerCorrupt(Conflict):
    def __init__(self, reason: str) -> None:
        super().__init__("The ledger's stored tree is damaged: {reason}", reason=reason)
