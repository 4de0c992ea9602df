"""Contacts of the centre and of each desk, found from current and former names as citizens write them."""

from __future__ import annotations

from typing import Optional

import pytest

from actions.contact import ActionContact
from tests.actions.conftest import run, tracker

CASES = [
    # (message, expected desk: a word of the agency name, or None for the province centre)
    ("số điện thoại tổng đài hỗ trợ là gì", None),
    ("so dien thoai tong dai ho tro la gi", None),
    ("hotline trung tâm phục vụ hành chính công", None),
    ("bộ phận một cửa thị xã Nghĩa Lộ ở đâu", "former"),
    ("bo phan mot cua thi xa nghia lo o dau", "former"),
    ("dia chi ubnd phuong nghia lo", "Nghĩa Lộ"),
    ("số điện thoại bộ phận một cửa xã Âu Lâu", "Âu Lâu"),
    ("sdt mot cua xa au lau", "Âu Lâu"),
    ("email của xã Khánh Hòa", "Khánh Hòa"),
    ("gio lam viec cua ubnd xa khanh hoa", "Khánh Hòa"),
    ("xa nghia phuc cu gio lien he o dau", "Liên Sơn"),
]


@pytest.mark.parametrize("text,expected", CASES)
async def test_contact_from_the_words_alone(catalogue_db: str, domain: dict, text: str,
                                           expected: Optional[str]) -> None:
    """No place entity from the NLU: the action still finds the desk in the message."""
    _, said, messages = await run(ActionContact(), tracker("zalo:1", text=text, intent="ask_contact"), domain)
    assert said[-1] == "utter_contact"
    message = messages[-1]
    assert message["hotline"] and message["address"] and message["hours"]
    if expected is None:
        assert "Trung tâm" in message["name"], message["name"]
    elif expected == "former":
        assert "Nghĩa Lộ" in message["old_name_note"] and "Phường" in message["old_name_note"], message
    else:
        assert expected in message["name"] or expected in message["old_name_note"], message


@pytest.mark.parametrize("text", ["bộ phận một cửa thị xã Nghĩa Lộ ở đâu", "mot cua xa au lau o dau",
                                  "so dien thoai ubnd phuong nghia lo"])
async def test_a_desk_asked_as_a_place_question_gets_the_contact(catalogue_db: str, domain: dict, text: str) -> None:
    """Classified as ask_place, the message names a desk, not a procedure: the contact is the answer."""
    from actions.procedures import ActionAnswerProcedure

    _, said, _ = await run(ActionAnswerProcedure(), tracker("zalo:1", text=text, intent="ask_place"), domain)
    assert said[-1] == "utter_contact", said
