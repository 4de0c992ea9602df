"""Answers from the whole national catalogue: the right procedure or a question, never another's facts;
machine-read figures said to be unconfirmed with their source, date and hotline; doubtful fees never quoted."""

from __future__ import annotations

import re
from typing import Any, Dict, List

from sqlalchemy import Integer

from actions.procedures import ActionAnswerProcedure
from bot.db.models import ProcedureChannel
from bot.db.session import session_scope
from tests.actions.conftest import run, tracker

IDP = "3.000353"  # Cấp giấy phép lái xe quốc tế (central level)
ANSWERS = {"utter_procedure_documents", "utter_procedure_fee", "utter_procedure_duration", "utter_procedure_place",
           "utter_procedure_overview", "utter_procedure_online_partial", "utter_procedure_online_none"}


async def _ask(text: str, intent: str, domain: Dict[str, Any]) -> tuple:
    return await run(ActionAnswerProcedure(), tracker("zalo:1", {}, text=text, intent=intent), domain)


def _texts(messages: List[Dict[str, Any]], domain: Dict[str, Any]) -> str:
    """The messages as the citizen reads them (response templates filled with their values)."""
    from bot.responses import Responses

    responses = Responses.of(domain)
    return "\n".join(responses.render(m["response"], {k: v for k, v in m.items() if k != "response"})
                     for m in messages)


async def test_international_driving_permit_is_not_the_domestic_licence(national: str, domain) -> None:
    for text in ("cấp giấy phép lái xe quốc tế cần những gì", "lam bang lai quoc te can giay to j"):
        _, said, messages = await _ask(text, "ask_documents", domain)
        if said[0] == "utter_procedure_choose":
            assert any(IDP in b["payload"] for b in messages[0]["buttons"]), text
            continue
        assert said[0] == "utter_procedure_documents", (text, said)
        assert messages[0]["procedure_code"] == IDP, text


async def test_a_national_answer_names_its_procedure_source_date_and_hotline(national: str, domain) -> None:
    _, said, messages = await _ask("giấy phép lái xe quốc tế mất bao lâu", "ask_duration", domain)
    assert said[0] in ANSWERS | {"utter_procedure_choose"}, said
    if said[0] == "utter_procedure_choose":
        return
    assert messages[0]["procedure_name"] and "utter_procedure_unconfirmed_national" in said
    note = messages[said.index("utter_procedure_unconfirmed_national")]
    assert note["source"] == "CSDL quốc gia về TTHC" and note["checked_on"] == "17/07/2026" and note["hotline"]
    assert "17/07/2026" in _texts(messages, domain)


async def test_a_doubtful_fee_is_never_quoted_as_a_number(national: str, domain) -> None:
    """Procedures whose every channel has a doubtful fee: the fee answer holds no amount at all."""
    from sqlalchemy import func, select

    from bot.db.models import Procedure

    with session_scope(national) as session:
        rows = session.execute(
            select(Procedure.code, Procedure.name).join(ProcedureChannel).group_by(Procedure.code, Procedure.name)
            .having(func.min(ProcedureChannel.fee_doubtful.cast(Integer)) == 1).order_by(Procedure.code).limit(40)
        ).all()
    assert len(rows) >= 10
    for code, name in rows:
        trk = tracker("zalo:1", {"procedure": code}, text="lệ phí bao nhiêu", intent="ask_fee")
        _, said, messages = await run(ActionAnswerProcedure(), trk, domain)
        assert said[0] == "utter_procedure_fee" and messages[0]["procedure_name"] == name, (code, said)
        assert not re.search(r"\d", messages[0]["fees"]), (code, messages[0]["fees"])


async def test_a_curated_procedure_still_answers_with_its_verified_facts(national: str, domain) -> None:
    _, said, messages = await _ask("đăng ký khai sinh cần giấy tờ gì", "ask_documents", domain)
    assert said[0] == "utter_procedure_documents" and messages[0]["procedure_code"] == "1.001193"
    assert "utter_procedure_unconfirmed_national" not in said


async def test_a_procedure_not_found_for_sure_is_said_so_with_the_nearest_offered(national: str, domain) -> None:
    """A "maybe" of the search (best word score just under the floor): the citizen reads that nothing was
    found for sure, with the hotline and the portal, and gets the nearest three as buttons, never an answer."""
    from bot.catalogue.query import topic
    from bot.catalogue.service import CatalogueService

    text = "chay nha mat het do dac, xin ho tro o dau"
    with session_scope(national) as session:   # the case this test is about, on the whole message and its topic
        index = CatalogueService(session).index()
        assert index.decide(text).kind == index.decide(topic(text)).kind == "maybe"
    events, said, messages = await _ask(text, "ask_procedure", domain)
    assert said == ["utter_procedure_maybe"] and not set(said) & ANSWERS
    assert len(messages[0]["buttons"]) == 3 and messages[0]["hotline"]
    assert messages[0]["portal_url"].startswith("https://")
    shown = _texts(messages, domain)
    assert messages[0]["hotline"] in shown and "chưa tìm được chắc chắn" in shown
    assert {"event": "slot", "name": "procedure", "value": None} in [
        {k: e.get(k) for k in ("event", "name", "value")} for e in events]
