"""Ratings, feedback and handoff actions with tracker fixtures (the rows they store, the responses they pick)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select

from actions.contact import ActionRequestHuman
from actions.feedback import ActionHandleFeedback
from bot.conversations.office_hours import next_staffed
from bot.db.models import Feedback, HandoffRequest
from bot.db.session import session_scope
from bot.settings import get_settings
from tests.actions.conftest import run, tracker
from tests.conftest import reset_caches

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


async def test_bare_answer_without_rating_is_answered_in_the_same_turn(catalogue_db: str) -> None:
    events, names, messages = await run(ActionHandleFeedback(), tracker(SENDER, text="khai sinh", intent="inform"))
    assert names and names[0].startswith("utter_procedure_") and messages[0]["procedure_name"] == "Đăng ký khai sinh"
    assert not [e for e in events if e.get("event") == "followup"]
    assert _feedback(catalogue_db) == []


async def test_a_lone_number_without_rating_names_no_procedure(catalogue_db: str) -> None:
    from actions.routing import ActionRouteInform

    for text in ("5", "12", "?", "..."):
        events, names, _ = await run(ActionRouteInform(), tracker(SENDER, text=text, intent="inform"))
        assert (events, names) == ([], ["utter_default"]), text


async def test_free_text_feedback_is_stored(db_url: str) -> None:
    _, names, _ = await run(ActionHandleFeedback(), tracker(SENDER, text="cán bộ rất nhiệt tình", intent="feedback"))
    assert names == ["utter_feedback_thanks"]
    assert _feedback(db_url) == [(SENDER, None, "cán bộ rất nhiệt tình")]


async def test_handoff_records_a_ticket_with_the_conversation(db_url: str, monkeypatch) -> None:
    monkeypatch.setenv("HANDOFF_HOURS", "always")  # staffed now: no "outside working hours" notice
    reset_caches()
    _, names, messages = await run(ActionRequestHuman(), tracker(SENDER, text="cho gặp cán bộ", intent="request_human"))
    assert names == ["utter_handoff_recorded"]
    with session_scope(db_url) as session:
        ticket = session.execute(select(HandoffRequest)).scalar_one()
        assert messages[0]["ticket"] == ticket.id
        assert (ticket.sender_key, ticket.reason) == (SENDER, "cho gặp cán bộ")
        assert [line["text"] for line in ticket.transcript] == ["cho gặp cán bộ"]


async def test_outside_working_hours_the_citizen_is_told_when_staff_answer(db_url: str, monkeypatch) -> None:
    now = dt.datetime.now(ZoneInfo("Asia/Ho_Chi_Minh"))
    other_day = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[(now.weekday() + 2) % 7]
    monkeypatch.setenv("HANDOFF_HOURS", f"{other_day} 08:00-09:00")  # closed today and tomorrow
    reset_caches()
    opening = next_staffed(get_settings())
    _, names, messages = await run(ActionRequestHuman(), tracker(SENDER, text="gặp cán bộ", intent="request_human"))
    assert names == ["utter_handoff_after_hours"]
    assert (messages[0]["time"], messages[0]["date"]) == ("08:00", opening.strftime("%d/%m/%Y"))
    assert opening.strftime("%a") == other_day and opening.date() > now.date()
    with session_scope(db_url) as session:  # the ticket is recorded all the same, for the next opening
        assert messages[0]["ticket"] == session.execute(select(HandoffRequest.id)).scalar_one()


def test_the_after_hours_response_takes_the_time_the_action_fills_in(domain) -> None:
    text = domain["responses"]["utter_handoff_after_hours"][0]["text"]
    assert all(f"{{{name}}}" in text for name in ("ticket", "time", "date", "hotline"))


async def test_a_new_session_stays_paused_while_an_agent_holds_the_conversation(db_url: str) -> None:
    from rasa_sdk.events import ActionExecuted, ConversationPaused, SessionStarted

    from actions.contact import ActionSessionStart
    from bot.conversations import handoff_desk
    from bot.conversations.handoff import request_handoff

    events, _, _ = await run(ActionSessionStart(), tracker(SENDER))
    assert events == [SessionStarted(), ActionExecuted("action_listen")]
    ticket_id = request_handoff(SENDER, "gặp cán bộ", [], database_url=db_url)
    with session_scope(db_url) as session:
        handoff_desk.take(session, ticket_id, "agent1")
    events, _, _ = await run(ActionSessionStart(), tracker(SENDER))
    assert events == [SessionStarted(), ConversationPaused(), ActionExecuted("action_listen")]
    with session_scope(db_url) as session:
        handoff_desk.close(session, ticket_id, "agent1")
    events, _, _ = await run(ActionSessionStart(), tracker(SENDER))
    assert ConversationPaused() not in events
