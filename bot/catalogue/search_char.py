"""Character-level signal of the procedure search (:mod:`bot.catalogue.search`).

TF-IDF over character n-grams (within words, padded) of each record's folded name and aliases,
compared by cosine with the folded question. It is robust where the word index is brittle:
typos ("khai sin"), words run together ("dangky", "cavet"), teen-code remnants and partial words.
The word BM25 stays the main signal; this one is fused into the re-rank and adds candidates.
"""

from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from bot.catalogue.search_tfidf import part, vector

NGRAMS = (2, 4)


class CharIndex:
    """Cosine similarity of a folded question with each record's folded name + aliases."""

    def __init__(self, texts: Sequence[str]) -> None:
        self._vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAMS, sublinear_tf=True,
                                           min_df=1, dtype=np.float32)
        # rows are L2-normalised: a dot product is the cosine
        self._matrix = self._vectorizer.fit_transform(list(texts)).tocsc()   # by n-gram: a question has few
        self._parts = [part(self._vectorizer, 0)]
        self._width = len(self._vectorizer.vocabulary_)

    def scores(self, text: str) -> np.ndarray:
        """Cosine of ``text`` (folded words joined by spaces) with every record (0..1)."""
        if not text.strip():
            return np.zeros(self._matrix.shape[0], dtype=np.float32)
        query = vector(self._parts, self._width, text)
        cols = np.flatnonzero(query)
        return self._matrix[:, cols] @ query[cols]

    @staticmethod
    def top(scores: np.ndarray, k: int) -> List[Tuple[int, float]]:
        """The ``k`` best (record, score) pairs with a positive score."""
        k = min(k, len(scores))
        if k <= 0:
            return []
        idx = np.argpartition(-scores, k - 1)[:k]
        return [(int(i), float(scores[i])) for i in idx if scores[i] > 0]
