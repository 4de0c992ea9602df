"""Phrase-level signal of the procedure search (:mod:`bot.catalogue.search`).

Each name, alias and search hint of a record is a phrase of its own; a question is compared with
each of a candidate record's phrases by the cosine of TF-IDF vectors (folded word unigrams and bigrams,
three tenths of the weight, and character n-grams within words, the rest), and the record scores its
best phrase. Where the word index sums evidence word by word over all of a record's text, this signal
rewards one phrase that reads like the whole question ("bố mất, nhận tiền tuất" against a hint of the
same situation), and it is the one place where a hint's own wording, not only the words its name lacks,
counts. The search passes a hint as its indexed words (no place names, no function words).
"""

from __future__ import annotations

from typing import List, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from bot.catalogue.search_cover import row_ranges
from bot.catalogue.search_tfidf import Part, part, vector
from bot.text.normalize import fold

WORD_SHARE = 0.3   # the words' part of the cosine; character n-grams have the rest
CHAR_MAX_DF = 0.3   # an n-gram in more phrases than this share tells nothing (and costs time): left out


def _folded(text: str) -> str:
    return fold(text).lower()


class PhraseIndex:
    """Best cosine of a question with each record's phrases (name, aliases, hints)."""

    def __init__(self, phrases: Sequence[Sequence[str]]) -> None:
        """``phrases[i]`` are record ``i``'s texts (as written; folded here)."""
        texts: List[str] = []
        bounds = np.zeros(len(phrases) + 1, dtype=np.int64)   # record i's phrases: rows bounds[i]:bounds[i + 1]
        for i, own in enumerate(phrases):
            texts.extend(_folded(t) for t in own if t and t.strip())
            bounds[i + 1] = len(texts)
        self._bounds = bounds
        common = max(int(CHAR_MAX_DF * len(texts)), 1)
        parts = [(TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, dtype=np.float32),
                  WORD_SHARE),
                 (TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, max_df=common,
                                  dtype=np.float32), 1 - WORD_SHARE)]
        self._matrix = None
        self._parts: List[Part] = []
        blocks, self._width = [], 0
        for vectorizer, share in parts:   # rows L2-normalised per part: a dot product is the weighted cosine
            try:
                blocks.append(vectorizer.fit_transform(texts) * share)
            except ValueError:   # no phrase, or none with a word of this kind
                continue
            # a question's vector is made here, without sklearn's per-call checks
            self._parts.append(part(vectorizer, self._width))
            self._width += len(vectorizer.vocabulary_)
        if blocks:
            self._matrix = sp.hstack(blocks).tocsr()

    def _vector(self, text: str) -> np.ndarray:
        """The question as the vectorizers would make it (sublinear TF times IDF, each part L2-normalised)."""
        return vector(self._parts, self._width, text)

    def scores(self, text: str, records: np.ndarray) -> np.ndarray:
        """For each of ``records`` (indices), the best cosine of ``text`` with one of its phrases (0..1)."""
        records = np.asarray(records, dtype=np.int64)
        out = np.zeros(len(records), dtype=np.float32)
        if self._matrix is None or not text.strip() or not len(records):
            return out
        query = self._vector(_folded(text))
        starts, ends = self._bounds[records], self._bounds[records + 1]
        lengths = ends - starts
        if not lengths.sum():
            return out
        cosine = self._matrix[row_ranges(starts, ends)] @ query
        has = lengths > 0
        out[has] = np.maximum.reduceat(cosine, np.cumsum(np.concatenate([[0], lengths[has][:-1]])))
        return out
