"""Background worker processes (composition roots: ``bot`` services wired to ``integrations``).

* :mod:`workers.reminders` — the reminder sweep and the daily pruning (``python -m workers.reminders``).
"""
