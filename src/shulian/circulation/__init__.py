"""Circulation: loan rules as contracts, checkout / checkin / renew, holds and the hold shelf,
transit between branches (return anywhere), fines, and notices.

Owns the ``loan_rules``, ``circulation_options``, ``transit_times``, ``loans``, ``holds``,
``transits``, ``fines``, ``fine_payments``, ``notices`` and ``reader_preferences`` tables.

Public operations (``shulian.circulation.service``): ``check_out``, ``check_in``, ``renew``,
``renew_all``, ``place_hold``, ``cancel_hold``, ``pick_list``, ``expire_holds``, ``accrue_fines``,
``pay``, ``waive``, ``explain``, the rules matrix (``list_rules``, ``create_rule``,
``update_rule``, ``delete_rule``), ``reader_account`` (loans, holds, fines for "my library"),
``reader_blocks`` (why borrowing is refused, as errors), ``queue_due_notices`` and
``anonymise_history``. Notices are queued by ``shulian.circulation.notices`` and leave through
``shulian.circulation.delivery`` (``deliver_notices``: SMTP and a signed webhook, at least once
with an idempotency key; the channels are in ``transports``, the wording in ``messages``);
``shulian.circulation.worker`` runs the periodic jobs (``run_jobs``) and delivery in a serving
process. Loan rules are resolved by ``shulian.circulation.policy``.
"""
