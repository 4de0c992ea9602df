"""Bare answers and unsure messages: answered in the same action, never with a guessed procedure."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction

from actions.procedures import ActionAnswerProcedure
from actions.routing import ActionRouteFallback, ActionRouteInform
from tests.actions.conftest import run, tracker

BIRTH = "1.001193"


def _with_entities(text: str, entities: List[Dict[str, Any]], intent: str = "nlu_fallback",
                   ranking: Optional[List[str]] = None, slots: Optional[Dict[str, Any]] = None,
                   sender: str = "zalo:7") -> Tracker:
    """A tracker whose latest message is ``text`` with ``entities`` (by default one below the NLU threshold)."""
    message: Dict[str, Any] = {"text": text, "intent": {"name": intent, "confidence": 0.35 if intent == "nlu_fallback"
                                                        else 1.0}, "entities": entities}
    if ranking is not None:
        message["intent_ranking"] = [{"name": name, "confidence": 0.3} for name in ranking]
    events = [{"event": "user", "text": text, "input_channel": "zalo", "parse_data": message}]
    return Tracker(sender, {"requested_slot": None, **(slots or {})}, message, events, False, None, {},
                   "action_listen")


def _unsure(text: str, entities: List[Dict[str, Any]], ranking: List[str]) -> Tracker:
    """A tracker whose latest message fell below the NLU threshold, with ``entities`` and ``ranking``."""
    return _with_entities(text, entities, ranking=ranking)


def _entity(name: str, value: str) -> Dict[str, Any]:
    return {"entity": name, "value": value, "start": 0, "end": 1}


async def test_an_unsure_message_naming_a_known_procedure_gets_its_answer(catalogue_db: str) -> None:
    trk = _unsure("dang ky khai sinh cho con can gi", [_entity("procedure", BIRTH)],
                  ["nlu_fallback", "ask_documents", "ask_procedure"])
    events, said, messages = await run(ActionRouteFallback(), trk)
    assert said[0] == "utter_procedure_documents"
    assert messages[0]["procedure_name"] == "Đăng ký khai sinh"
    assert not any(isinstance(e, dict) and e.get("event") == "followup" for e in events)


async def test_an_unsure_message_without_a_sure_procedure_is_not_answered(catalogue_db: str) -> None:
    for entities in ([], [_entity("procedure", "lam")], [_entity("procedure", "khai sinh cho con")]):
        events, said, _ = await run(ActionRouteFallback(), _unsure("lam cai nay the nao", entities,
                                                                     ["nlu_fallback", "ask_fee"]))
        assert (events, said) == ([], ["utter_default"]), entities


async def test_an_unsure_message_with_a_dossier_code_goes_to_the_form(catalogue_db: str) -> None:
    trk = _unsure("000.00.15.H65-240312-0001 the nao roi", [_entity("dossier_code", "000.00.15.H65-240312-0001")],
                  ["nlu_fallback", "check_status"])
    events, said, _ = await run(ActionRouteFallback(), trk)
    assert (events, said) == ([FollowupAction("dossier_form")], [])


async def test_a_legal_question_stays_a_legal_question(catalogue_db: str) -> None:
    trk = _unsure("khai sinh can cu phap ly", [_entity("procedure", BIRTH)], ["nlu_fallback", "ask_fee"])
    _, said, _ = await run(ActionRouteFallback(), trk)
    assert said[0] == "utter_procedure_legal"


async def test_a_bare_procedure_name_answers_the_pending_aspect_in_place(catalogue_db: str) -> None:
    trk = _with_entities("khai sinh", [_entity("procedure", BIRTH)], "inform", slots={"pending_aspect": "fee"},
                         sender="zalo:8")
    out, said, messages = await run(ActionRouteInform(), trk)
    assert said[0] == "utter_procedure_fee" and messages[0]["procedure_name"] == "Đăng ký khai sinh"
    assert {"event": "slot", "name": "procedure", "value": BIRTH} in [
        {k: e.get(k) for k in ("event", "name", "value")} for e in out]


async def test_a_bare_question_without_context_asks_which_procedure(catalogue_db: str) -> None:
    for text, intent in (("le phi bn", "ask_fee"), ("bao lâu thì có kết quả", "ask_duration"),
                         ("mat bao lau", "ask_duration"), ("phí bao nhiêu vậy ad", "ask_fee"),
                         ("nộp ở đâu", "ask_place")):
        events, said, _ = await run(ActionAnswerProcedure(), tracker("zalo:9", {}, text=text, intent=intent))
        assert said == ["utter_ask_which_procedure"], text
        assert {"event": "slot", "name": "pending_aspect"} in [
            {k: e.get(k) for k in ("event", "name")} for e in events]
        _, said, messages = await run(ActionAnswerProcedure(),
                                      tracker("zalo:9", {"procedure": BIRTH}, text=text, intent=intent))
        assert messages[0]["procedure_name"] == "Đăng ký khai sinh", text


async def test_a_bare_follow_up_after_the_choice_buttons_offers_them_again(catalogue_db: str) -> None:
    from actions.procedures import OFFERED

    events, said, messages = await run(ActionAnswerProcedure(), tracker(
        "zalo:10", {"procedure": BIRTH}, text="cấp giấy chứng nhận", intent="ask_procedure"))
    assert said == ["utter_procedure_choose"]
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    offered = [b["payload"].split('"')[3] for b in messages[0]["buttons"]]
    assert slots[OFFERED] == offered and slots["procedure"] is None  # the old context is dropped
    _, said, again = await run(ActionAnswerProcedure(), tracker(
        "zalo:10", {OFFERED: offered, "procedure": None}, text="mất bao lâu", intent="ask_duration"))
    assert said == ["utter_procedure_choose"] and again[0]["buttons"] == messages[0]["buttons"]
    chosen, said, _ = await run(ActionAnswerProcedure(), _with_entities(
        f'/inform{{"procedure":"{offered[0]}"}}', [_entity("procedure", offered[0])], "inform",
        slots={OFFERED: offered, "pending_aspect": "duration"}, sender="zalo:10"))
    assert said[0] == "utter_procedure_duration"
    assert {"event": "slot", "name": OFFERED, "value": None} in [
        {k: e.get(k) for k in ("event", "name", "value")} for e in chosen]


async def test_an_unsure_message_gets_the_aspect_of_its_own_words_else_the_overview(catalogue_db: str) -> None:
    for text, expected in (("dang ky khai tu cho bo", "utter_procedure_overview"),
                           ("dang ky khai tu cho bo het bn tien", "utter_procedure_fee"),
                           ("khai tu cho ong thi nop o dau", "utter_procedure_place")):
        trk = _unsure(text, [_entity("procedure", "1.000656")], ["nlu_fallback", "ask_documents"])
        _, said, messages = await run(ActionRouteFallback(), trk)
        assert said[0] == expected, (text, said)
        assert messages[0]["procedure_name"].startswith("Đăng ký khai tử"), text
