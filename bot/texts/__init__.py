"""Staff edits of the assistant's answer texts over the domain's responses (issue 13, item 3).

* :mod:`bot.texts.domain` — the domain's responses and intents (read once per process);
* :mod:`bot.texts.overlay` — how overrides lie over the domain's variations;
* :mod:`bot.texts.checks` — placeholder, length and button checks of an edit;
* :mod:`bot.texts.render` — Rasa-compatible variation choice and slot filling (the NLG endpoint);
* :mod:`bot.texts.preview` — how Telegram and Zalo show a message;
* :mod:`bot.texts.live` — overrides cached per process, re-read when the version row changes;
* :mod:`bot.texts.service` — list, edit, history, revert (audited).
"""
