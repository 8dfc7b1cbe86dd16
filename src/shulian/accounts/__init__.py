"""Readers (patrons) and staff, reader categories, roles and permissions, logins.

Owns the ``reader_categories``, ``readers``, ``staff_accounts``, ``roles``,
``role_permissions``, ``staff_roles``, ``login_sessions`` and ``login_failures`` tables.

Public operations (``shulian.accounts.service``): ``register_reader``, ``update_reader``,
``get_reader``, ``find_reader_by_card``, ``list_readers``, ``create_staff``, ``get_staff``,
``list_staff``, ``set_staff_active``, ``authenticate_staff``, ``authenticate_reader``,
``check_login_throttle`` / ``record_login_failure`` / ``clear_login_failures`` (the throttle, for
other password checks such as SIP2's), ``open_session``, ``principal_for_token``,
``end_session``, ``list_sessions``, ``revoke_own_session``, ``log_out_everywhere``,
``staff_sessions``, ``revoke_staff_session``, ``revoke_all_staff_sessions``,
``issue_reader_qr``, ``resolve_reader_qr``, ``change_password``; for the sessions worker
``record_last_seen`` and ``purge_expired``.
"""
