"""Conversation ids carry their channel; only ids built by a channel parse to an identity."""

from __future__ import annotations

import pytest

from bot.conversations.identity import ConversationIdentity, conversation_id, parse_conversation_id


def test_round_trip() -> None:
    assert conversation_id("telegram", 42) == "telegram:42"
    assert conversation_id("telegram", 42, chat_id=-100123) == "telegram:group:-100123:42"
    assert conversation_id("zalo", "8437") == "zalo:8437"
    assert parse_conversation_id("telegram:42") == ConversationIdentity("telegram", "42")
    group = parse_conversation_id("telegram:group:-100123:42")
    assert group == ConversationIdentity("telegram", "42", "-100123") and not group.private
    assert group.key == "telegram:42"


def test_rest_clients_stay_in_the_rest_namespace() -> None:
    forged = parse_conversation_id(conversation_id("rest", "telegram:42"))
    assert forged is not None and forged.channel == "rest" and forged.user_id == "telegram:42"
    assert forged.key != "telegram:42"
    assert parse_conversation_id(conversation_id("rest", "group:1:2")).private


@pytest.mark.parametrize("sender", [None, "", "42", "telegram", "telegram:", "sms:42", ":42", "TELEGRAM:42",
                                    "telegram:group:", "telegram:group:1", "telegram:group::2"])
def test_ids_without_a_known_channel_are_anonymous(sender) -> None:
    assert parse_conversation_id(sender) is None


@pytest.mark.parametrize("bad", ["", " ", "a b", "x\n", "a\x00", "a\u2028b", "9" * 121])
def test_bad_user_ids_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        conversation_id("rest", bad)


def test_unknown_channel_is_refused() -> None:
    with pytest.raises(ValueError):
        conversation_id("sms", "1")
