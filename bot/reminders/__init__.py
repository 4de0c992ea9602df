"""Push reminders about dossier deadlines and results (APScheduler sweep, at-most-once outbox).

* :mod:`bot.reminders.subscriptions` — subscribe / unsubscribe (the dialogue's service);
* :mod:`bot.reminders.sweep` — queue due notices (set-based SQL);
* :mod:`bot.reminders.outbox` — deliver them, at most once: :mod:`~bot.reminders.claims` (claim,
  lease, the fence before each send), :mod:`~bot.reminders.prepare` (re-check, wording),
  :mod:`~bot.reminders.outcomes` (retries, unconfirmed, unreachable users);
* :mod:`bot.reminders.report` — counts per state, unconfirmed notices, an operator's verdict;
* :mod:`bot.reminders.delivery` — the ``Sender`` protocol, adapters and channel routing;
* :mod:`bot.reminders.scheduler` — ``start_embedded()`` and the ``python -m bot.reminders`` process.

Nothing here imports Rasa.
"""
