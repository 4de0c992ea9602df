"""Push reminders about dossier deadlines and results (APScheduler sweep, at-most-once outbox).

* :mod:`bot.reminders.subscriptions` — subscribe / unsubscribe (the dialogue's service);
* :mod:`bot.reminders.sweep` — queue due notices (set-based SQL);
* :mod:`bot.reminders.outbox` — deliver them, at most once: :mod:`~bot.reminders.claims` (claim,
  lease, the fence before each send), :mod:`~bot.reminders.prepare` (re-check, wording),
  :mod:`~bot.reminders.outcomes` (retries, unconfirmed, unreachable users);
* :mod:`bot.reminders.report` — counts per state, unconfirmed notices, an operator's verdict;
* :mod:`bot.reminders.delivery` — the ``Sender`` protocol, failure kinds and channel routing;
* :mod:`bot.reminders.service` — one sweep (plan, then deliver) and ``build_router()`` over given senders.

The process that runs the sweep is :mod:`workers.reminders`; the channel senders are in
``integrations/senders.py``. Nothing here imports Rasa or ``integrations``.
"""
