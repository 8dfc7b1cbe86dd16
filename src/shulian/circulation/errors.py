"""Rules of circulation, as errors: each refusal says why in words a reader understands."""

from __future__ import annotations

from shulian.core.errors import BadRequest, Conflict, Forbidden, NotFound


class CardExpired(Forbidden):
    def __init__(self, expired_on: str) -> None:
        super().__init__(
            "The library card expired on {expired_on}; renew it at a desk", expired_on=expired_on
        )


class ReaderBlocked(Forbidden):
    def __init__(self, status: str) -> None:
        super().__init__("The reader's account is {status}: borrowing is suspended", status=status)


class FinesOverLimit(Forbidden):
    def __init__(self, owed: str, limit: str) -> None:
        super().__init__(
            "Fines of {owed} are owed (the limit is {limit}); pay them to borrow again",
            owed=owed,
            limit=limit,
        )


class LoanLimitReached(Conflict):
    def __init__(self, limit: int) -> None:
        super().__init__(
            "The reader already has {limit} items on loan, the most allowed", limit=limit
        )


class TypeLoanLimitReached(Conflict):
    def __init__(self, limit: int, item_type: str) -> None:
        super().__init__(
            "The reader already has {limit} items of type {item_type} on loan, the most allowed",
            limit=limit,
            item_type=item_type,
        )


class HoldLimitReached(Conflict):
    def __init__(self, limit: int) -> None:
        super().__init__("The reader already has {limit} holds, the most allowed", limit=limit)


class ItemNotLoanable(Conflict):
    def __init__(self, barcode: str) -> None:
        super().__init__("Item {barcode} is for use in the library only", barcode=barcode)


class ItemUnavailable(Conflict):
    def __init__(self, barcode: str, status: str) -> None:
        super().__init__(
            "Item {barcode} cannot be lent now: it is {status}", barcode=barcode, status=status
        )


class AlreadyOnLoan(Conflict):
    def __init__(self, barcode: str) -> None:
        super().__init__("Item {barcode} is already on loan; check it in first", barcode=barcode)


class ItemOnHoldForAnother(Conflict):
    def __init__(self, barcode: str) -> None:
        super().__init__("Item {barcode} is being held for another reader", barcode=barcode)


class NotOnLoan(Conflict):
    def __init__(self, barcode: str) -> None:
        super().__init__("Item {barcode} is not on loan", barcode=barcode)


class NotYourLoan(Forbidden):
    def __init__(self, barcode: str) -> None:
        super().__init__("Item {barcode} is not on loan to this reader", barcode=barcode)


class RenewalLimitReached(Conflict):
    def __init__(self, barcode: str, renewals: int) -> None:
        super().__init__(
            "Item {barcode} has been renewed {renewals} times, the most allowed",
            barcode=barcode,
            renewals=renewals,
        )


class RenewalBlockedByHolds(Conflict):
    def __init__(self, barcode: str) -> None:
        super().__init__(
            "Item {barcode} cannot be renewed: other readers are waiting for it",
            barcode=barcode,
        )


class NoRuleApplies(Conflict):
    def __init__(self, category: str, item_type: str, branch: str) -> None:
        super().__init__(
            "No loan rule covers reader category {category}, item type {item_type} "
            "at branch {branch}; add a default rule",
            category=category,
            item_type=item_type,
            branch=branch,
        )


class RuleNotFound(NotFound):
    def __init__(self, rule_id: int) -> None:
        super().__init__("Loan rule {rule_id} does not exist", rule_id=rule_id)


class InvalidRule(BadRequest):
    """``reason`` is one of a fixed set of sentences (translated); ``field`` names the value."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__("The loan rule is refused ({field}): {reason}", field=field, reason=reason)


class DuplicateRule(Conflict):
    def __init__(self, rule_id: int) -> None:
        super().__init__(
            "Loan rule {rule_id} already covers the same category, item type and branch",
            rule_id=rule_id,
        )


class LastDefaultRule(Conflict):
    def __init__(self) -> None:
        super().__init__("The default rule (any reader, any item, any branch) cannot be deleted")


class HoldNotFound(NotFound):
    def __init__(self, hold_id: int) -> None:
        super().__init__("Hold {hold_id} does not exist", hold_id=hold_id)


class AlreadyHeld(Conflict):
    def __init__(self, record_id: int) -> None:
        super().__init__("The reader already holds record {record_id}", record_id=record_id)


class HoldOnOwnLoan(Conflict):
    def __init__(self, record_id: int) -> None:
        super().__init__("The reader already has record {record_id} on loan", record_id=record_id)


class NothingToHold(Conflict):
    def __init__(self, record_id: int) -> None:
        super().__init__(
            "Record {record_id} has no copies that can be lent, so it cannot be held",
            record_id=record_id,
        )


class HoldClosed(Conflict):
    def __init__(self, hold_id: int, status: str) -> None:
        super().__init__("Hold {hold_id} is already {status}", hold_id=hold_id, status=status)


class NotYourHold(Forbidden):
    def __init__(self, hold_id: int) -> None:
        super().__init__("Hold {hold_id} belongs to another reader", hold_id=hold_id)


class BadAmount(BadRequest):
    def __init__(self, amount: str) -> None:
        super().__init__("{amount} is not an amount that can be paid or waived", amount=amount)


class NothingOwed(Conflict):
    def __init__(self) -> None:
        super().__init__("The reader owes nothing")


class FineNotFound(NotFound):
    def __init__(self, fine_id: int) -> None:
        super().__init__("Fine {fine_id} does not exist", fine_id=fine_id)


class UnknownOption(BadRequest):
    def __init__(self, name: str) -> None:
        super().__init__("{name} is not a circulation option", name=name)


class InvalidOption(BadRequest):
    def __init__(self, name: str, value: str) -> None:
        super().__init__("{value} is not a valid value for {name}", name=name, value=value)


class LoanNotFound(NotFound):
    def __init__(self, loan_id: int) -> None:
        super().__init__("Loan {loan_id} does not exist", loan_id=loan_id)
