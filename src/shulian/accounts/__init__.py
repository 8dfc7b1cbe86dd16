"""Readers (patrons) and staff, reader categories, roles and permissions, logins.

Owns the ``reader_categories``, ``readers``, ``staff_accounts``, ``roles``,
``role_permissions``, ``staff_roles`` and ``login_failures`` tables.

Public operations (``shulian.accounts.service``): ``register_reader``, ``update_reader``,
``get_reader``, ``find_reader_by_card``, ``list_readers``, ``create_staff``, ``get_staff``,
``list_staff``, ``authenticate_staff``, ``authenticate_reader``, ``principal_for``,
``issue_reader_qr``, ``resolve_reader_qr``, ``change_password``.
"""
