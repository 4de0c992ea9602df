"""Feedback, ratings and handoff tickets (``bot.conversations.feedback`` / ``handoff``) on a real database."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.conversations.feedback import MAX_TEXT, rating_of, record_feedback
from bot.conversations.handoff import TRANSCRIPT_EVENTS, request_handoff, transcript
from bot.db.models import Feedback, HandoffRequest
from bot.db.session import session_scope


@pytest.mark.parametrize(("value", "text", "typed", "expected"), [
    ("5", "", False, 5), ("1", "", False, 1), ("0", "", False, None), ("6", "", False, None),
    ("năm", "", False, None), (None, "cho 4 sao", True, 4), (None, "cho 4 sao", False, None),
    (None, "12 điểm", True, None), (None, "không có gì", True, None), ("3", "5", True, 3),
])
def test_rating_of(value, text, typed, expected) -> None:
    assert rating_of(value, text, typed=typed) == expected


def _feedback(url: str) -> list:
    with session_scope(url) as session:
        return [(f.sender_key, f.rating, f.text) for f in session.execute(select(Feedback)).scalars()]


def test_rating_button_keeps_no_payload_text(db_url: str) -> None:
    record_feedback("telegram:1", 5, '/rate{"rating":"5"}', db_url)
    assert _feedback(db_url) == [("telegram:1", 5, None)]


def test_typed_rating_and_free_text_are_kept(db_url: str) -> None:
    record_feedback("zalo:2", 4, "4 sao nhé", db_url)
    record_feedback("rest:3", None, "x" * (MAX_TEXT + 50), db_url)
    rows = _feedback(db_url)
    assert rows[0] == ("zalo:2", 4, "4 sao nhé")
    assert rows[1][:2] == ("rest:3", None) and len(rows[1][2]) == MAX_TEXT


def test_transcript_keeps_user_and_bot_texts_oldest_first() -> None:
    events = [{"event": "action", "name": "action_listen"}, {"event": "user", "text": "chào", "timestamp": 1.0},
              {"event": "bot", "text": "Xin chào!", "timestamp": 2.0}, {"event": "user", "text": ""},
              {"event": "slot", "name": "answered", "value": True}]
    assert transcript(events) == [{"by": "user", "text": "chào", "at": 1.0}, {"by": "bot", "text": "Xin chào!", "at": 2.0}]
    many = [{"event": "user", "text": str(i)} for i in range(TRANSCRIPT_EVENTS + 5)]
    assert [line["text"] for line in transcript(many)] == [str(i) for i in range(5, TRANSCRIPT_EVENTS + 5)]


def test_handoff_ticket_carries_the_transcript(db_url: str) -> None:
    events = [{"event": "user", "text": "chậm quá", "timestamp": 1.0}, {"event": "bot", "text": "Xin lỗi"}]
    first = request_handoff("telegram:9", "gặp cán bộ", events, db_url)
    second = request_handoff("telegram:9", None, [], db_url)
    assert second == first + 1
    with session_scope(db_url) as session:
        ticket = session.get(HandoffRequest, first)
        assert (ticket.sender_key, ticket.reason, ticket.status) == ("telegram:9", "gặp cán bộ", "open")
        assert [line["text"] for line in ticket.transcript] == ["chậm quá", "Xin lỗi"]
