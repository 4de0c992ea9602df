"""Unanswered questions: the grouping key (masked, diacritic-folded words) and the shown wording."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Optional, Tuple

from bot.conversations.masking import mask_digits, mask_for_review
from bot.text.normalize import clean, folded_words

KEY_CHARS = 200
SAMPLE_CHARS = 500


def message_text(data: Optional[str]) -> str:
    """The text of a stored user event (its ``data`` JSON), or "" when there is none."""
    if not data:
        return ""
    try:
        event: Any = json.loads(data)
    except ValueError:
        return ""
    text = event.get("text") if isinstance(event, dict) else None
    return text if isinstance(text, str) else ""


@lru_cache(maxsize=65536)
def question_key(text: str) -> Tuple[str, str]:
    """``(key, sample)`` of a question: the key groups wordings alike with and without diacritics
    or teen-code ("dk khai sinh" = "đăng ký khai sinh"); both have phone numbers and dossier codes masked."""
    cleaned = clean(text, max_chars=2000)
    key = " ".join(folded_words(mask_digits(cleaned)))[:KEY_CHARS]  # numbers (phones, codes) never split a group
    return key, mask_for_review(cleaned)[:SAMPLE_CHARS]
