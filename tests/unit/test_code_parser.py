"""One parser for dossier codes: every unambiguous rendering is read, nothing else is."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.text.codes import find_dossier_codes, normalize_dossier_code
from bot.text.phone import find_last4, find_phones

SET = yaml.safe_load((Path(__file__).resolve().parents[1] / "nlu" / "code_renderings.yml").read_text("utf-8"))


def test_the_set_is_large_enough() -> None:
    assert len(SET["positives"]) + len(SET["negatives"]) >= 50
    assert len(SET["negatives"]) >= 20


@pytest.mark.parametrize("case", SET["positives"], ids=lambda c: c["text"][:40])
def test_renderings_denote_their_code(case: dict) -> None:
    found = find_dossier_codes(case["text"])
    assert [m.value for m in found] == [case["code"]]
    assert normalize_dossier_code(case["text"]) == case["code"]
    assert normalize_dossier_code(case["code"]) == case["code"]  # canonical is a fixed point


@pytest.mark.parametrize("text", SET["negatives"])
def test_non_codes(text: str) -> None:
    assert find_dossier_codes(text) == []
    assert normalize_dossier_code(text) is None


def test_a_code_does_not_hide_a_phone_or_become_one() -> None:
    text = "000.00.15.H65-240312-0003 sdt 0912345678"
    assert [m.value for m in find_phones(text)] == ["0912345678"]
    assert find_last4("000 00 15 H65 240312 0003") is None


def test_two_codes_are_not_one() -> None:
    assert normalize_dossier_code("000.00.15.H65-240312-0001 và 000.00.15.H65-240312-0002") is None
