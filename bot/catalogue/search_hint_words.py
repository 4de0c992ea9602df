"""The words of a search hint (``data/search_hints.yml``) that the procedure search indexes.

A hint is someone's guess at how a citizen names a procedure: its place names and its function
words are not indexed (they would match any question naming the place, and "cả" folds to "cá")."""

from __future__ import annotations

from typing import List

from bot.catalogue.search_text import record_words
from bot.text.normalize import clean

# Proper names a hint keeps: a country or its language says which procedure ("tiếng Trung", "đi Hàn").
NATIONS = frozenset({"viet nam", "trung", "trung quoc", "lao", "campuchia", "han", "han quoc", "nhat", "nhat ban",
                     "dai loan", "my", "anh", "phap", "duc", "nga", "uc", "thai lan", "tay"})

# Function words of a hint, as written: folded they would be content words ("cả" folds to "ca", fish).
HINT_FILLER = frozenset("cả khi đã đang sẽ vẫn cũng mà thì là của với để nên vì rồi nữa những các này đó ấy".split())


def hint_words(text: str) -> List[str]:
    """Folded words of a search hint without its proper names ("hồ Thác Bà", "cam Văn Chấn", "đi Sa Pa"):
    a place or a brand colours the phrase but is no word of the procedure, and would match any question
    naming it. A run of capitalised words after the first word is a proper name, kept only when it is a
    country (:data:`NATIONS`); an abbreviation (BHYT) is kept. Function words (:data:`HINT_FILLER`) go."""
    kept: List[str] = []
    run: List[str] = []
    for k, w in enumerate([w for w in clean(text or "").split() if w.lower() not in HINT_FILLER] + [""]):
        if k and w[:1].isupper() and not w.isupper():
            run.append(w)
            continue
        if run and " ".join(record_words(" ".join(run))) in NATIONS:
            kept += run
        run = []
        kept.append(w)
    return record_words(" ".join(kept))
