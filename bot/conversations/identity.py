"""Conversation identities: the channel is part of the conversation id, set by the server.

Every Rasa conversation id (``sender_id``) is built here by the input channel that
received the message, never taken from a client:

* ``telegram:<user_id>``: a private Telegram chat;
* ``telegram:group:<chat_id>:<user_id>``: one user inside a Telegram group (no dossier
  details are ever shown there);
* ``zalo:<user_id>``: a Zalo OA follower (always private);
* ``rest:<client_sender>``: the development REST channel; whatever the client sends
  stays inside the ``rest`` namespace, so it can never reach a Telegram or Zalo user.

Anything else (an id without a known channel prefix) parses to ``None`` and is
treated as an anonymous, unprivileged conversation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

CHANNELS = ("telegram", "zalo", "rest", "web")
GROUP = "group"
MAX_USER_ID = 120


@dataclass(frozen=True)
class ConversationIdentity:
    """The channel identity behind one conversation id."""

    channel: str
    user_id: str
    chat_id: Optional[str] = None  # set only for group chats

    @property
    def private(self) -> bool:
        """True for a one-to-one chat (dossier details may be shown there)."""
        return self.chat_id is None

    @property
    def key(self) -> str:
        """``channel:user_id``: the person, whatever chat they write from."""
        return f"{self.channel}:{self.user_id}"

    @property
    def conversation_id(self) -> str:
        """The Rasa conversation id (``sender_id``) of this identity."""
        if self.chat_id is None:
            return self.key
        return f"{self.channel}:{GROUP}:{self.chat_id}:{self.user_id}"


def _clean(value: object) -> str:
    text = str(value)
    if not text or len(text) > MAX_USER_ID or any(ch.isspace() or not ch.isprintable() for ch in text):
        raise ValueError(f"invalid channel user id {text[:40]!r}")
    return text


def conversation_id(channel: str, user_id: object, chat_id: Optional[object] = None) -> str:
    """The conversation id of ``user_id`` on ``channel`` (``chat_id`` for a group chat).

    Raises:
        ValueError: unknown channel or an empty / oversized / non-printable id.
    """
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    group = _clean(chat_id) if chat_id is not None else None
    return ConversationIdentity(channel, _clean(user_id), group).conversation_id


def parse_conversation_id(sender_id: Optional[str]) -> Optional[ConversationIdentity]:
    """The identity encoded in ``sender_id``, or None when it names no known channel."""
    if not sender_id:
        return None
    channel, sep, rest = str(sender_id).partition(":")
    if not sep or channel not in CHANNELS or not rest:
        return None
    if channel == "telegram" and rest.startswith(GROUP + ":"):
        chat_id, sep2, user_id = rest[len(GROUP) + 1:].rpartition(":")
        if not sep2 or not chat_id or not user_id:
            return None
        return ConversationIdentity(channel, user_id, chat_id)
    return ConversationIdentity(channel, rest)
