"""Pages of circulation: "my library" and placing holds for readers (``pages.py``); the desk,
fines and the branch's lists for staff (``desk.py``); the loan rules matrix (``rules.py``); money,
times and the rule form (``views.py``)."""
