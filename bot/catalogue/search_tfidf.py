"""A question's TF-IDF vector built straight from fitted vectorizers (:mod:`.search_char`, :mod:`.search_phrase`):
the vector ``TfidfVectorizer.transform`` makes (sublinear TF times IDF, L2-normalised), without its per-call
checks and sparse-matrix building, which cost more than the search's use of it on a one-line question."""

from __future__ import annotations

from collections import Counter
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

# a fitted vectorizer's analyzer, vocabulary and IDF, and where its columns start in the joined vector
Part = Tuple[Callable[[str], List[str]], Dict[str, int], np.ndarray, int]


def part(vectorizer: TfidfVectorizer, offset: int) -> Part:
    """What :func:`vector` needs of a fitted (sublinear, L2-normalised) vectorizer whose columns start at ``offset``."""
    return vectorizer.build_analyzer(), vectorizer.vocabulary_, vectorizer.idf_, offset


def vector(parts: Sequence[Part], width: int, text: str) -> np.ndarray:
    """``text`` as the vectorizers would make it, each part L2-normalised, side by side (dense, float32)."""
    out = np.zeros(width, dtype=np.float32)
    for analyze, vocabulary, idf, offset in parts:
        counts = Counter(t for t in analyze(text) if t in vocabulary)
        if not counts:
            continue
        cols = np.fromiter((vocabulary[t] for t in counts), dtype=np.int64, count=len(counts))
        weights = (1 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))) * idf[cols]
        out[cols + offset] = weights / np.linalg.norm(weights)
    return out
