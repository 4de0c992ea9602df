"""Stored conversations never hold phone endings or full phone numbers."""

from __future__ import annotations

from bot.conversations.masking import mask_events, mask_phones

CODE = "000.00.15.H65-240312-0001"


def _user(text: str, entities=None) -> dict:
    return {"event": "user", "text": text, "parse_data": {"text": text, "entities": entities or []}}


def test_full_phone_numbers_keep_three_digits() -> None:
    assert mask_phones("sdt em 0912345678 a") == "sdt em 091••••••• a"
    assert mask_phones("+84 912 345 678") == "+84 9•• ••• •••"
    assert mask_phones(f"ma {CODE} nhe") == f"ma {CODE} nhe"


def test_phone_ending_answers_are_masked() -> None:
    events = [
        _user(f"tra cuu ho so {CODE}", [{"entity": "dossier_code", "value": CODE}]),
        {"event": "slot", "name": "requested_slot", "value": "phone_last4"},
        {"event": "bot", "text": "nhap 4 so cuoi"},
        _user("so cuoi la ５６７８ a", [{"entity": "phone_last4", "value": "５６７８"}]),
        {"event": "slot", "name": "phone_last4", "value": "５６７８"},
        {"event": "active_loop", "name": None},
        _user("cam on, nam 2024 nhe"),
    ]
    out = list(mask_events(events))
    assert out[0]["text"] == f"tra cuu ho so {CODE}"  # codes stay (useless without the ending)
    assert out[3]["text"] == "so cuoi la •••• a" and out[3]["parse_data"]["text"] == "so cuoi la •••• a"
    assert out[3]["parse_data"]["entities"][0]["value"] == "••••"
    assert out[4]["value"] == "••••"
    assert out[6]["text"] == "cam on, nam 2024 nhe"  # outside the question, digits are kept
    assert events[3]["text"] == "so cuoi la ５６７８ a"  # the input is not modified
