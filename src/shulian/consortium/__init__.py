"""The library network (总分馆): member libraries and branches as a tree, with calendars.

Owns the ``branches``, ``opening_hours`` and ``closed_days`` tables.

Public operations (``shulian.consortium.service``): ``create_branch``, ``update_branch``,
``get_branch``, ``get_branch_by_code``, ``list_branches``, ``branch_tree``, ``set_opening_hours``,
``add_closed_day``, ``remove_closed_day``, ``is_open_on``, ``next_open_day`` (which circulation uses
for due dates).
"""
