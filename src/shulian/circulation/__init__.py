"""Circulation: loan rules as contracts, checkout / checkin / renew, holds and the hold shelf,
transit between branches (return anywhere), fines, and the notices they call for.

Owns the ``loan_rules``, ``circulation_options``, ``transit_times``, ``loans``, ``holds``,
``transits``, ``fines``, ``fine_payments`` and ``reader_preferences`` tables.

Public operations (``shulian.circulation.service``): ``check_out``, ``check_in``, ``renew``,
``renew_all``, ``place_hold``, ``cancel_hold``, ``pick_list``, ``expire_holds``, ``accrue_fines``,
``pay``, ``waive``, ``explain``, the rules matrix (``list_rules``, ``create_rule``,
``update_rule``, ``delete_rule``), ``reader_account`` (loans, holds, fines for "my library"),
``reader_blocks`` (why borrowing is refused, as errors), ``queue_due_notices`` and
``anonymise_history``. Its kinds of notice (``hold_ready``, ``due_soon``, ``overdue``) are in
``shulian.circulation.notices``; they are queued in the notice outbox (``shulian.notify``),
which delivers them. ``shulian.circulation.worker`` runs the periodic jobs (``run_jobs``) in a
serving process. Loan rules are resolved by ``shulian.circulation.policy``.
"""
