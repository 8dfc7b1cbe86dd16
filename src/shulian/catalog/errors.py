"""Rules of the catalogue, as errors."""

from __future__ import annotations

from shulian.core.errors import BadRequest, Conflict, Forbidden, NotFound


class RecordNotFound(NotFound):
    def __init__(self, record_id: int | str) -> None:
        super().__init__("Record {record_id} does not exist", record_id=record_id)


class ItemNotFound(NotFound):
    def __init__(self, barcode: str) -> None:
        super().__init__("No item with barcode {barcode}", barcode=barcode)


class NothingMatchesScan(NotFound):
    def __init__(self, code: str) -> None:
        super().__init__(
            "{code} is neither an item barcode nor the ISBN of a record in the catalogue",
            code=code,
        )


class BarcodeTaken(Conflict):
    def __init__(self, barcode: str) -> None:
        super().__init__("Barcode {barcode} is already on another item", barcode=barcode)


class EpcTaken(Conflict):
    def __init__(self, epc: str) -> None:
        super().__init__("RFID tag {epc} is already on another item", epc=epc)


class StaleRecord(Conflict):
    def __init__(self, record_id: int, version: int) -> None:
        super().__init__(
            "Record {record_id} was changed by someone else (now version {version}); "
            "reload it and edit again",
            record_id=record_id,
            version=version,
        )


class WrongRecordStatus(Conflict):
    def __init__(self, record_id: int, status: str, action: str) -> None:
        super().__init__(
            "Record {record_id} is {status}: it cannot be {action}",
            record_id=record_id,
            status=status,
            action=action,
        )


class SelfReviewRefused(Forbidden):
    def __init__(self, record_id: int) -> None:
        super().__init__(
            "Record {record_id} was entered by you; another reviewer must approve it",
            record_id=record_id,
        )


class CommentRequired(BadRequest):
    def __init__(self) -> None:
        super().__init__("Say why the record is returned: the cataloguer needs a comment")


class InvalidRecord(BadRequest):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__("Invalid {field}: {reason}", field=field, reason=reason)


class DigitalResourceNotFound(NotFound):
    def __init__(self, resource_id: int) -> None:
        super().__init__("Digital resource {resource_id} does not exist", resource_id=resource_id)


class UploadTooLarge(BadRequest):
    def __init__(self, limit_mb: int) -> None:
        super().__init__("The file is too large: at most {limit_mb} MB", limit_mb=limit_mb)


class ImportFileUnreadable(BadRequest):
    def __init__(self, name: str, reason: str) -> None:
        super().__init__("Cannot import {name}: {reason}", name=name, reason=reason)


class ImportJobNotFound(NotFound):
    def __init__(self, job_id: int) -> None:
        super().__init__("Import {job_id} does not exist", job_id=job_id)
