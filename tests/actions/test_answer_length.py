"""Answers fit a phone screen: the fact first, one short legal line, long lists behind a button."""

from __future__ import annotations

import statistics
from typing import Any, Dict

import sqlalchemy as sa

from actions.answers import DOCUMENTS_SHOWN, citation, render_answer, screen_lines
from actions.procedures import ActionAnswerProcedure
from bot.catalogue.service import CatalogueService
from bot.db.models import Procedure
from bot.db.session import session_scope
from tests.actions.conftest import run, tracker

BIRTH = "1.001193"


def _text(domain: Dict[str, Any], response: str, values: Dict[str, Any]) -> str:
    return domain["responses"][response][0]["text"].format(**values)


def test_every_answer_is_short_and_names_its_procedure(catalogue_db: str, domain: Dict[str, Any]) -> None:
    fee_lines = []
    with session_scope(catalogue_db) as session:
        service = CatalogueService(session)
        for code in session.execute(sa.select(Procedure.code)).scalars():
            proc = service.get(code)
            for aspect in ("documents", "fee", "duration", "place", "online"):
                response, values = render_answer(domain, proc, aspect)
                text = _text(domain, response, values)
                assert proc.name in text, (code, aspect)
                assert screen_lines(text) <= 32, (code, aspect, text)
                if aspect == "fee":
                    fee_lines.append(screen_lines(text))
                if "Căn cứ" in text:
                    legal = next(line for line in text.split("\n") if line.startswith("Căn cứ"))
                    assert len(legal) <= 220 and legal.count(";") <= 1, legal
                if aspect == "documents":
                    assert sum(line.startswith("•") for line in text.split("\n")) <= DOCUMENTS_SHOWN
    assert statistics.median(fee_lines) <= 12  # the fee, the channel, one legal line


def test_citations_are_short() -> None:
    assert citation("Nghị định 123/2015/NĐ-CP (sửa đổi, bổ sung bởi Nghị định 07/2025/NĐ-CP)") == \
        "Nghị định 123/2015/NĐ-CP"
    assert citation("Quyết định số 1380/QĐ-UBND ngày 12/7/2025 của UBND tỉnh") == "Quyết định số 1380/QĐ-UBND"


async def test_buttons_lead_to_everything(catalogue_db: str, domain: Dict[str, Any]) -> None:
    trk = tracker("zalo:1", text="khai sinh can giay to gi", intent="ask_documents")
    trk.latest_message["entities"] = [{"entity": "procedure", "value": BIRTH}]
    _, said, messages = await run(ActionAnswerProcedure(), trk, domain)
    assert said[0] == "utter_procedure_documents"
    titles = {b["title"]: b["payload"] for b in messages[0]["buttons"]}
    assert set(titles) == {"Xem tất cả giấy tờ", "Căn cứ pháp lý"}
    assert "giấy tờ khác" in messages[0]["documents"]

    everything = tracker("zalo:1", text=titles["Xem tất cả giấy tờ"], intent="ask_documents")
    everything.latest_message["entities"] = [{"entity": "procedure", "value": BIRTH},
                                             {"entity": "detail", "value": "all"}]
    _, said, messages = await run(ActionAnswerProcedure(), everything, domain)
    assert "giấy tờ khác" not in messages[0]["documents"]
    assert messages[0]["documents"].count("•") > DOCUMENTS_SHOWN

    legal = tracker("zalo:1", {"procedure": BIRTH}, text="căn cứ pháp lý là gì vậy", intent="ask_procedure")
    _, said, messages = await run(ActionAnswerProcedure(), legal, domain)
    assert said[0] == "utter_procedure_legal" and "Luật Hộ tịch" in messages[0]["legal_items"]
    assert messages[0]["legal_items"].count("•") >= 3
