"""The notice outbox every domain sends through: e-mail over SMTP, or a signed webhook for SMS
and WeChat gateways, delivered at least once with an idempotency key.

Owns the ``notices`` (the outbox) and ``notice_preferences`` (a reader's channels and notice
language) tables.

The outbox is generic: a domain describes each kind of notice it sends as a
:class:`~shulian.notify.kinds.NoticeKind` (how its subject and text are written, in the reader's
language, and how to tell it no longer holds true), queues notices with ``service.enqueue`` in
the transaction that makes them due, and the application lists its kinds with the others.
Circulation's (``hold_ready``, ``due_soon``, ``overdue``) are in ``shulian.circulation.notices``.

Public operations (``shulian.notify.service``): ``enqueue``, ``channels_for``, ``preferences``,
``set_preferences``, ``reader_language``, ``outbox`` and ``outbox_counts`` (the staff page),
``due_count``. Delivery: ``shulian.notify.delivery.deliver_notices`` over the transports in
``shulian.notify.transports``; ``shulian.notify.worker.NoticeWorker`` delivers in a serving
process.
"""
