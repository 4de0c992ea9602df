"""Push reminders about dossier deadlines and results (APScheduler sweep, exactly-once outbox).

* :mod:`bot.reminders.subscriptions` — subscribe / unsubscribe (the dialogue's service);
* :mod:`bot.reminders.sweep` — queue due notices (set-based SQL);
* :mod:`bot.reminders.outbox` — claim and deliver them (lease, retries, unreachable users);
* :mod:`bot.reminders.delivery` — the ``Sender`` protocol, adapters and channel routing;
* :mod:`bot.reminders.scheduler` — ``start_embedded()`` and the ``python -m bot.reminders`` process.

Nothing here imports Rasa.
"""
