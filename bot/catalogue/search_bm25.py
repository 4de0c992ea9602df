"""BM25 postings of the procedure search (:mod:`bot.catalogue.search`): per term, the documents that
hold it and each one's weight (IDF x saturated term frequency, length-normalised)."""

from __future__ import annotations

from collections import defaultdict
from typing import Dict, List, Sequence, Tuple

import numpy as np

# BM25 parameters (names are short: little length normalisation).
K1, B = 1.2, 0.4

Postings = Dict[str, Tuple[np.ndarray, np.ndarray]]


def invert(docs: Sequence[Tuple[List[str], float]], idf: Dict[str, float]) -> Postings:
    """Postings of ``docs`` (terms, weight), document ids by position; a term a document repeats
    counts once (a long name that says a word thrice earns nothing for it)."""
    avgdl = sum(len(t) for t, _ in docs) / max(len(docs), 1) or 1.0
    lists: Dict[str, Tuple[List[int], List[float]]] = defaultdict(lambda: ([], []))
    for d, (doc_terms, weight) in enumerate(docs):
        norm = K1 * (1 - B + B * len(doc_terms) / avgdl)
        for t in dict.fromkeys(doc_terms):
            ids, ws = lists[t]
            ids.append(d)
            ws.append(weight * idf.get(t, 0.0) * (K1 + 1) / (1 + norm))
    return {t: (np.array(i, dtype=np.int32), np.array(w)) for t, (i, w) in lists.items()}
