"""The assistant's custom actions (served by ``rasa_sdk --actions actions``).

When the action server is started by ``bot.cli serve`` (``WARM_SEARCH_INDEX=1``), the procedure
search index is built in the background at start, so the first question does not wait for it."""

from bot.catalogue.index import warm_in_background

warm_in_background()
