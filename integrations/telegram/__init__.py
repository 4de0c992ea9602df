"""Telegram channel: Bot API client (client.py), button payload codec (buttons.py), Rasa input/output
channels (channel.py) and the webhook registration command (``python -m integrations.telegram``)."""
