"""Messages the NLU did not read as procedure questions (unsure, out of scope): a rare procedure the search
names on its own evidence is answered or offered; chat, prices and weather are not, and feedback stays feedback."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest
from rasa_sdk import Tracker

from actions.feedback import ActionHandleFeedback
from actions.routing import ActionRouteFallback, ActionRouteOutOfScope
from bot.settings import get_settings
from tests.actions.conftest import run

PROCEDURE_REPLIES = {"utter_procedure_choose", "utter_procedure_maybe", "utter_procedure_overview",
                     "utter_procedure_documents", "utter_procedure_fee", "utter_procedure_duration",
                     "utter_procedure_place", "utter_procedure_legal", "utter_procedure_online_partial",
                     "utter_procedure_online_none", "utter_procedure_online_full"}


def _read_as(text: str, intent: str, sender: str = "zalo:41") -> Tracker:
    """A tracker whose latest message ``text`` the NLU read as ``intent`` (below its threshold for a fallback)."""
    message: Dict[str, Any] = {"text": text, "intent": {"name": intent, "confidence": 0.3}, "entities": [],
                               "intent_ranking": [{"name": intent, "confidence": 0.3}]}
    events = [{"event": "user", "text": text, "input_channel": "zalo", "parse_data": message}]
    return Tracker(sender, {"requested_slot": None}, message, events, False, None, {}, "action_listen")


def _button_names(messages: List[Dict[str, Any]]) -> str:
    return " | ".join(b["title"] for m in messages for b in m.get("buttons") or []).lower()


@pytest.mark.parametrize("action, intent", [(ActionRouteFallback(), "nlu_fallback"),
                                            (ActionRouteOutOfScope(), "out_of_scope")])
async def test_a_rare_procedure_the_nlu_missed_is_offered(national: str, action, intent) -> None:
    _, said, messages = await run(action, _read_as("cấp phép bắn pháo hoa dịp lễ hội", intent))
    assert said[0] in PROCEDURE_REPLIES, said
    assert "pháo hoa" in (_button_names(messages) or messages[0].get("procedure_name", "").lower())


@pytest.mark.parametrize("text", ["lam cai nay the nao", "giá vàng hôm nay bao nhiêu", "thoi tiet sa pa cuoi tuan",
                                  "alo", "bot ngu the", "ke chuyen cuoi di", "😀😀", "cho e hoi chut"])
async def test_chat_prices_and_weather_are_not_made_procedure_questions(national: str, text: str) -> None:
    _, said, _ = await run(ActionRouteFallback(), _read_as(text, "nlu_fallback"))
    assert said == ["utter_default"], text
    _, said, _ = await run(ActionRouteOutOfScope(), _read_as(text, "out_of_scope"))
    assert said == ["utter_out_of_scope"], text


async def test_feedback_about_a_procedure_stays_feedback(national: str) -> None:
    for text in ("hôm qua lên xã làm khai sinh cho con mà chờ cả buổi sáng, cán bộ thái độ quá",
                 "làm sổ đỏ ở trung tâm nhanh lắm, cảm ơn các cán bộ",
                 "xin phép bắn pháo hoa mà đi lại 3 lần, sao ko nói 1 lần cho xong"):
        _, said, _ = await run(ActionHandleFeedback(), _read_as(text, "feedback", sender="zalo:42"))
        assert said == ["utter_feedback_thanks"], text


async def test_the_catalogue_down_means_not_understood_not_an_error(national: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite:////nonexistent-dir/catalogue.db")
    get_settings.cache_clear()
    _, said, _ = await run(ActionRouteFallback(), _read_as("cấp phép bắn pháo hoa dịp lễ hội", "nlu_fallback"))
    assert said == ["utter_default"]
    _, said, _ = await run(ActionRouteOutOfScope(), _read_as("cấp phép bắn pháo hoa dịp lễ hội", "out_of_scope"))
    assert said == ["utter_out_of_scope"]
