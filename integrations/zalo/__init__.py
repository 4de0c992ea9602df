"""Zalo Official Account channel: OAuth tokens (tokens.py), OA and ZNS client (client.py), webhook
signature and ids (signature.py), Rasa input/output channels (channel.py)."""
