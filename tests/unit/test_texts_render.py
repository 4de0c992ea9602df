"""The console's NLG answer fills and chooses exactly as Rasa's own templated NLG does (compared with Rasa)."""

from __future__ import annotations

import pytest
from rasa.core.nlg.generator import ResponseVariationFilter
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator

from bot.texts.render import ANSWER_KEYS, generate, suitable_variants

RESPONSES = {
    "utter_plain": [{"text": "Chào {name}, thủ tục {procedure}!",
                     "buttons": [{"title": "Xem {procedure}", "payload": "/ask_procedure"}]}],
    "utter_missing": [{"text": "Chào {name}, mã {code}."}],
    "utter_braces": [{"text": "Giữ nguyên {{ngoặc}} và {name}"}],
    "utter_channel": [{"text": "Mặc định {name}"}, {"text": "Zalo {name}", "channel": "zalo"}],
    "utter_conditional": [
        {"text": "Đã xác minh {name}", "condition": [{"type": "slot", "name": "verified", "value": "YES"}]},
        {"text": "Chưa xác minh"},
        {"text": "Telegram xác minh", "channel": "telegram",
         "condition": [{"type": "slot", "name": "verified", "value": "yes"}]},
    ],
}
CASES = [
    ("utter_plain", "rest", {"name": "An", "procedure": None}, {"procedure": "khai sinh"}),
    ("utter_plain", "rest", {"name": "An"}, {}),
    ("utter_missing", "rest", {"name": "An"}, {}),
    ("utter_missing", "rest", {"name": "An"}, {"code": 12, "text": None, "buttons": []}),
    ("utter_braces", "rest", {"name": "An"}, {}),
    ("utter_channel", "zalo", {"name": "An"}, {}),
    ("utter_channel", "telegram", {"name": "An"}, {}),
    ("utter_conditional", "rest", {"verified": "yes", "name": "An"}, {}),
    ("utter_conditional", "rest", {"verified": "no", "name": "An"}, {}),
    ("utter_conditional", "telegram", {"verified": "Yes", "name": "An"}, {}),
    ("utter_conditional", "telegram", {"verified": None}, {}),
]


@pytest.mark.parametrize(("name", "channel", "slots", "arguments"), CASES)
def test_same_answer_as_rasa(name: str, channel: str, slots: dict, arguments: dict) -> None:
    rasa = TemplatedNaturalLanguageGenerator(RESPONSES).generate_from_slots(name, slots, channel, **arguments)
    ours = generate(RESPONSES[name], channel, slots, arguments)
    assert rasa is not None and ours is not None
    assert ours == {key: rasa[key] for key in ANSWER_KEYS if key in rasa}
    assert suitable_variants(RESPONSES[name], channel, slots) == ResponseVariationFilter(
        RESPONSES).responses_for_utter_action(name, channel, slots)


def test_malformed_braces_do_not_raise() -> None:
    assert generate([{"text": "Lỗi } ngoặc {name}"}], None, {"name": "An"}, {}) == {"text": "Lỗi } ngoặc {name}"}


def test_no_suitable_variation() -> None:
    only_conditional = [{"text": "x", "condition": [{"type": "slot", "name": "a", "value": 1}]}]
    assert generate(only_conditional, None, {"a": 2}, {}) is None
