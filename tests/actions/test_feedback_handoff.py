"""Ratings, feedback and handoff actions with tracker fixtures (the rows they store, the responses they pick)."""

from __future__ import annotations

from rasa_sdk.events import FollowupAction
from sqlalchemy import select

from actions.contact import ActionHandleFeedback, ActionRequestHuman
from bot.db.models import Feedback, HandoffRequest
from bot.db.session import session_scope
from tests.actions.conftest import run, tracker

SENDER = "telegram:2002"


def _feedback(url: str) -> list:
    with session_scope(url) as session:
        return [(f.sender_key, f.rating, f.text) for f in session.execute(select(Feedback)).scalars()]


async def test_rating_button_is_stored_and_thanked(db_url: str) -> None:
    trk = tracker(SENDER, text='/rate{"rating":"5"}', intent="rate")
    trk.latest_message["entities"] = [{"entity": "rating", "value": "5"}]
    events, names, _ = await run(ActionHandleFeedback(), trk)
    assert (events, names) == ([], ["utter_rating_thanks"])
    assert _feedback(db_url) == [(SENDER, 5, None)]


async def test_bare_digit_answer_is_a_rating(db_url: str) -> None:
    _, names, messages = await run(ActionHandleFeedback(), tracker(SENDER, text="4", intent="inform"))
    assert names == ["utter_rating_thanks"] and messages[0]["rating"] == 4
    assert _feedback(db_url) == [(SENDER, 4, "4")]


async def test_bare_answer_without_rating_is_routed(db_url: str) -> None:
    events, names, _ = await run(ActionHandleFeedback(), tracker(SENDER, text="khai sinh", intent="inform"))
    assert (events, names) == ([FollowupAction("action_route_inform")], [])
    assert _feedback(db_url) == []


async def test_free_text_feedback_is_stored(db_url: str) -> None:
    _, names, _ = await run(ActionHandleFeedback(), tracker(SENDER, text="cán bộ rất nhiệt tình", intent="feedback"))
    assert names == ["utter_feedback_thanks"]
    assert _feedback(db_url) == [(SENDER, None, "cán bộ rất nhiệt tình")]


async def test_handoff_records_a_ticket_with_the_conversation(db_url: str) -> None:
    _, names, messages = await run(ActionRequestHuman(), tracker(SENDER, text="cho gặp cán bộ", intent="request_human"))
    assert names == ["utter_handoff_recorded"]
    with session_scope(db_url) as session:
        ticket = session.execute(select(HandoffRequest)).scalar_one()
        assert messages[0]["ticket"] == ticket.id
        assert (ticket.sender_key, ticket.reason) == (SENDER, "cho gặp cán bộ")
        assert [line["text"] for line in ticket.transcript] == ["cho gặp cán bộ"]
