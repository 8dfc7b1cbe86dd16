"""Rules of the ledger, as errors."""

from __future__ import annotations

from shulian.core.errors import BadRequest, Conflict, Forbidden, NotFound


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


class CosignatureRejected(BadRequest):
    """A cosignature POSTed to us that is malformed or not on one of our checkpoints."""

    def __init__(self, reason: str) -> None:
        super().__init__("Cosignature rejected: {reason}", reason=reason)


class CosignatureNotTrusted(Forbidden):
    """A cosignature from a witness we do not trust, or one that does not verify."""

    def __init__(self, reason: str) -> None:
        super().__init__("Cosignature refused: {reason}", reason=reason)


class SplitViewReported(Conflict):
    """A witness showed us a checkpoint signed with our key that is not our tree."""

    def __init__(self, reason: str) -> None:
        super().__init__("Split view: {reason}", reason=reason)


class InvalidWitnessKey(BadRequest):
    def __init__(self, reason: str) -> None:
        super().__init__("Invalid witness key: {reason}", reason=reason)


class WitnessKeyConflict(Conflict):
    def __init__(self, name: str) -> None:
        super().__init__(
            "Witness {name} is already trusted with another key; remove it first", name=name
        )
