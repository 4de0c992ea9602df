"""Procedures outside the catalogue: said plainly, never answered with another procedure's facts."""

from __future__ import annotations

from typing import Optional

from actions.procedures import ActionAnswerProcedure, ActionSearchProcedures
from tests.actions.conftest import run, tracker

ANSWERS = {"utter_procedure_documents", "utter_procedure_fee", "utter_procedure_duration", "utter_procedure_place",
           "utter_procedure_overview", "utter_procedure_online_full", "utter_procedure_online_partial",
           "utter_procedure_online_none"}
CCCD = "1.014061"
BIRTH = "1.001193"

# (message, intent) of procedures the catalogue lacks, as citizens write them
OUTSIDE = [
    ("thủ tục làm hộ chiếu cần gì", "ask_documents"),
    ("lam ho chieu can giay to gi", "ask_documents"),
    ("giấy chứng nhận đủ điều kiện an toàn thực phẩm cho quán ăn mất bao lâu", "ask_duration"),
    ("giay chung nhan an toan thuc pham mat bao lau", "ask_duration"),
    ("dang ky xe may moi mua o dau", "ask_place"),
    ("đăng ký mã số thuế lần đầu hết bao nhiêu tiền", "ask_fee"),
    ("xin visa di han quoc can gi", "ask_documents"),
    ("cap giay phep kinh doanh ruou", "ask_procedure"),
    ("lam the bao hiem y te ho gia dinh o dau", "ask_place"),
    ("dang ky nghia vu quan su can gi", "ask_documents"),
]


async def _answer(text: str, intent: str, context: Optional[str] = None) -> tuple:
    trk = tracker("zalo:1", {"procedure": context}, text=text, intent=intent)
    return await run(ActionAnswerProcedure(), trk, {"responses": {}})


async def test_outside_the_catalogue_says_so(catalogue_db: str) -> None:
    for text, intent in OUTSIDE:
        for context in (None, CCCD, BIRTH):
            events, said, messages = await _answer(text, intent, context)
            assert not set(said) & ANSWERS, (text, context, said)
            if said in (["utter_procedure_not_found"], ["utter_procedure_not_found_question"],
                        ["utter_procedure_maybe"]):   # "maybe": said not found for sure, the nearest offered
                message = messages[0]
                assert message.get("query", said == ["utter_procedure_maybe"])
                assert message["portal_url"].startswith("https://")
                assert message["hotline"]
                assert {"event": "slot", "name": "procedure", "value": None} in [
                    {k: e.get(k) for k in ("event", "name", "value")} for e in events]
            else:
                assert said == ["utter_procedure_choose"], (text, said)  # a question, not an answer


async def test_passport_is_named_in_the_not_found_answer(catalogue_db: str) -> None:
    _, said, messages = await _answer("thủ tục làm hộ chiếu cần gì", "ask_documents", CCCD)
    assert said == ["utter_procedure_not_found"] and messages[0]["query"] == "hộ chiếu"


async def test_a_whole_question_is_not_quoted_back_as_a_procedure_name(catalogue_db: str) -> None:
    text = "xe tai nha e nam gara hon 1 thang ko chay thi co dc mien phi duong bo ko"
    _, said, messages = await _answer(text, "ask_procedure")
    assert said == ["utter_procedure_not_found_question"] and messages[0]["hotline"]
    _, said, _ = await _answer("thủ tục nuôi cá sấu cảnh", "ask_procedure")
    assert said == ["utter_procedure_not_found"]


async def test_bare_follow_ups_use_the_procedure_in_context(catalogue_db: str) -> None:
    for text in ("còn lệ phí thì sao?", "con le phi thi sao", "the con le phi", "lệ phí bao nhiêu ạ"):
        _, said, messages = await _answer(text, "ask_fee", BIRTH)
        assert said[0] == "utter_procedure_fee", text
        assert messages[0]["procedure_name"] == "Đăng ký khai sinh"


async def test_a_named_procedure_wins_over_the_context(catalogue_db: str) -> None:
    _, said, messages = await _answer("con dang ky ket hon thi mat bao lau", "ask_duration", BIRTH)
    assert said[0] == "utter_procedure_duration" and messages[0]["procedure_name"] == "Đăng ký kết hôn"


async def test_every_answer_names_its_procedure(catalogue_db: str) -> None:
    for text, intent in [("lam giay khai sinh can gi", "ask_documents"), ("doi bang lai het bao nhieu", "ask_fee"),
                         ("tach thua dat mat bao lau", "ask_duration"), ("nop ho so ket hon o dau", "ask_place")]:
        _, said, messages = await _answer(text, intent)
        assert said[0] in ANSWERS and messages[0]["procedure_name"], text


async def test_search_with_a_procedure_name_is_not_a_field_question(catalogue_db: str) -> None:
    trk = tracker("zalo:1", {}, text="thủ tục làm hộ chiếu", intent="search_procedures")
    _, said, messages = await run(ActionSearchProcedures(), trk, {"responses": {}})
    assert said == ["utter_procedure_not_found"] and messages[0]["query"] == "hộ chiếu"
    trk = tracker("zalo:1", {}, text="các thủ tục", intent="search_procedures")
    _, said, _ = await run(ActionSearchProcedures(), trk, {"responses": {}})
    assert said == ["utter_search_ask_field"]
