"""The trained NLU pipeline end to end (real Rasa model from `make train`), including bad input."""

import asyncio
import time
import unicodedata

import pytest
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.normalizer import VietnameseNormalizer
from bot.nlu.tokenizer import VietnameseTokenizer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def agent():
    from rasa.core.agent import Agent

    from bot.cli.train import latest_model

    return Agent.load(str(latest_model()))


def parse(agent, text):
    return asyncio.run(agent.parse_message(text))


def _tokens(text):
    tokenizer = VietnameseTokenizer(VietnameseTokenizer.get_default_config())
    message = Message({TEXT: text})
    VietnameseNormalizer({"max_chars": 1000}).process([message])
    tokenizer.process([message])
    return message.get(TEXT), message.get(TOKENS_NAMES[TEXT])


def test_tokens_point_into_the_original_text():
    text, tokens = _tokens("Muốn đk khai sinh, hs 000.00.15.H65-240312-0001 nộp ở đâu?")
    assert [t.text for t in tokens][:4] == ["muốn", "đăng_ký", "khai_sinh", "hồ_sơ"]
    code = next(t for t in tokens if t.text == "__ma_ho_so__")
    assert text[code.start:code.end] == "000.00.15.H65-240312-0001"
    for token in tokens:
        assert 0 <= token.start < token.end <= len(text)


BAD_INPUTS = {
    "empty": "",
    "spaces": "   \n\t ",
    "huge": "tôi muốn hỏi thủ tục làm sổ đỏ " * 170,  # ~5,000 characters
    "emoji": "😀😀🙏🙏👍",
    "nfd": unicodedata.normalize("NFD", "đăng ký khai sinh cần giấy tờ gì"),
    "controls": "xin\x00 chào\x07\u200b\u202e ad\x1b[31m",
    "punctuation": "?!?!...,,,",
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_is_parsed_without_exception(agent, name):
    result = parse(agent, BAD_INPUTS[name])
    assert "intent" in result
    assert isinstance(result.get("entities", []), list)


def test_nfd_text_is_understood_like_nfc(agent):
    nfc = parse(agent, "đăng ký khai sinh cần giấy tờ gì")
    nfd = parse(agent, BAD_INPUTS["nfd"])
    assert nfd["intent"]["name"] == nfc["intent"]["name"] == "ask_documents"


def test_huge_message_is_truncated_and_fast(agent):
    started = time.perf_counter()
    result = parse(agent, BAD_INPUTS["huge"])
    assert time.perf_counter() - started < 2.0
    assert len(result["text"]) <= 1000


@pytest.mark.parametrize("plain,marked", [
    ("muon lam so do thi lam the nao", "muốn làm sổ đỏ thì làm thế nào"),
    ("dang ky khai sinh can giay to gi", "đăng ký khai sinh cần giấy tờ gì"),
    ("le phi chung thuc ban sao bao nhieu", "lệ phí chứng thực bản sao bao nhiêu"),
])
def test_text_without_diacritics_is_understood_alike(agent, plain, marked):
    a, b = parse(agent, plain), parse(agent, marked)
    assert a["intent"]["name"] == b["intent"]["name"]
    # the procedure is mapped to the same catalogue code either way
    codes_a = {e["value"] for e in a["entities"] if e["entity"] == "procedure" and e["value"][:2] in {"1.", "2."}}
    codes_b = {e["value"] for e in b["entities"] if e["entity"] == "procedure" and e["value"][:2] in {"1.", "2."}}
    assert codes_a == codes_b and codes_a


def test_dossier_code_with_spaces_and_lower_case(agent):
    result = parse(agent, "kiem tra hs 000.00.15.h65 - 240312 - 0001 giup e")
    codes = [e for e in result["entities"] if e["entity"] == "dossier_code"]
    assert [c["value"] for c in codes] == ["000.00.15.H65-240312-0001"]
    assert result["intent"]["name"] == "check_status"


@pytest.mark.parametrize("text", ["qwzx vbnm plok", "asdfgh jkl", "😀😀🙏🙏👍", "zzzz xxxx yyyy"])
def test_gibberish_falls_back(agent, text):
    result = parse(agent, text)
    assert result["intent"]["name"] == "nlu_fallback"


def test_unknown_place_name_does_not_fall_back(agent):
    result = parse(agent, "địa chỉ ubnd xã Pá Lau ở đâu")
    assert result["intent"]["name"] == "ask_contact"
