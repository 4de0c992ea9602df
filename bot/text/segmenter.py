"""Vietnamese word segmentation on top of underthesea, with exact offsets.

underthesea rewrites the text it returns (spacing around punctuation, splits
dossier codes), so we never use its output text directly: we feed it a list of
clean syllables and only read back how it *groups* them. Runs of syllables typed
without diacritics (where underthesea's CRF rarely joins anything) are grouped by
longest match against underthesea's own lexicon with diacritics folded away, so
"dang ky khai sinh" is segmented like "đăng ký khai sinh".
"""

from __future__ import annotations

import logging
import pickle
from functools import lru_cache
from pathlib import Path
from typing import FrozenSet, List, Sequence, Tuple

from bot.text.normalize import fold, has_diacritics

logger = logging.getLogger(__name__)

MAX_WORD_SYLLABLES = 4
# Folded compounds that are far more often two separate words in citizens' questions.
_FOLDED_STOPLIST = {"thi can", "cho con", "co the", "the nao", "la gi", "o dau", "di lam", "lam gi"}


@lru_cache(maxsize=1)
def folded_lexicon() -> FrozenSet[str]:
    """Multi-syllable words of underthesea's lexicon with diacritics folded."""
    import underthesea  # local import: heavy, only when a model is built or loaded

    base = Path(underthesea.__file__).parent / "pipeline" / "word_tokenize" / "models"
    words: set = set()
    for path in sorted(base.glob("*/dictionary.bin")):
        with path.open("rb") as fh:
            lexicon = pickle.load(fh)  # noqa: S301 - file shipped inside the pinned package
        words.update(fold(w.lower()) for w in lexicon if " " in w)
    words -= _FOLDED_STOPLIST
    logger.debug("folded lexicon: %d compounds", len(words))
    return frozenset(words)


def _underthesea_groups(syllables: Sequence[str]) -> List[Tuple[int, int]]:
    """Groups (start, end) of syllable indices as underthesea segments them."""
    from underthesea import word_tokenize

    words = word_tokenize(" ".join(syllables))
    groups: List[Tuple[int, int]] = []
    i = 0
    for word in words:
        target = len(word.replace(" ", ""))
        if target == 0:
            continue
        start, length = i, 0
        while i < len(syllables) and length < target:
            length += len(syllables[i])
            i += 1
        if length != target:  # underthesea split inside a syllable: give up on grouping
            return [(k, k + 1) for k in range(len(syllables))]
        groups.append((start, i))
    groups.extend((k, k + 1) for k in range(i, len(syllables)))
    return groups


def _lexicon_groups(syllables: Sequence[str], start: int, end: int) -> List[Tuple[int, int]]:
    """Greedy longest-match grouping of syllables[start:end] against the folded lexicon."""
    lexicon = folded_lexicon()
    groups: List[Tuple[int, int]] = []
    i = start
    while i < end:
        size = 1
        for n in range(min(MAX_WORD_SYLLABLES, end - i), 1, -1):
            if " ".join(syllables[i : i + n]) in lexicon:
                size = n
                break
        groups.append((i, i + size))
        i += size
    return groups


def segment(syllables: Sequence[str], use_underthesea: bool = True, fold_lexicon: bool = True) -> List[Tuple[int, int]]:
    """Group lower-case syllables into words; returns (start, end) index pairs.

    Args:
        syllables: cleaned, lower-case syllables (no punctuation, no spaces).
        use_underthesea: run underthesea's CRF segmentation (else every
            syllable is its own word).
        fold_lexicon: group runs of diacritic-free single syllables by the
            folded lexicon.
    """
    if not syllables:
        return []
    if use_underthesea and any(has_diacritics(s) for s in syllables):
        groups = _underthesea_groups(syllables)
    else:
        groups = [(k, k + 1) for k in range(len(syllables))]
    if not fold_lexicon:
        return groups
    out: List[Tuple[int, int]] = []
    run_start = None
    for g_start, g_end in groups + [(len(syllables), len(syllables) + 1)]:
        single_plain = g_end - g_start == 1 and g_start < len(syllables) and not has_diacritics(syllables[g_start])
        if single_plain:
            if run_start is None:
                run_start = g_start
            continue
        if run_start is not None:
            out.extend(_lexicon_groups(syllables, run_start, g_start))
            run_start = None
        if g_start < len(syllables):
            out.append((g_start, g_end))
    return out
