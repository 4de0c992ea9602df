"""How much of a procedure's name a question says (the name side of the search's re-rank,
:class:`VariantShares`), and how much of the question a record's terms explain (the question side,
:class:`TermSets`).

Each name variant (the name's core, its parentheticals and alternatives, aliases, search hints) is
reduced once, when the index is built, to its content terms with their IDF weights, and every record's
variants and terms are rows of sparse matrices: for a question, all candidates are scored by a few
sparse products instead of a Python loop over each candidate's terms."""

from __future__ import annotations

from typing import AbstractSet, Callable, Dict, List, Sequence, Tuple

import numpy as np
import scipy.sparse as sp

from bot.catalogue import search_text as st

Key = Tuple[Tuple[Tuple[str, float], ...], float]   # ((term, idf), ...), total idf


def cover_key(variant: Sequence[str], idf_of: Callable[[str], float], plain: bool = False) -> Key:
    """The weighted content terms of a name variant; with ``plain``, without the generic action the
    name starts with ("Đăng ký khai sinh" is all said by "khai sinh")."""
    for action in st.GENERIC_ACTIONS if plain else ():
        n = len(action.split())
        if len(variant) > n + 1 and " ".join(variant[:n]) == action:
            variant = variant[n:]
            break
    content = list(dict.fromkeys(st.terms(variant, st.QUERY_STOPWORDS))) or list(variant)
    pairs = tuple((t, idf_of(t)) for t in content)
    return pairs, (sum(w for _, w in pairs) or 1.0)


def share(key: Key, said: set) -> float:
    """IDF-weighted share of the variant's terms that are in ``said``."""
    pairs, total = key
    return sum(w for t, w in pairs if t in said) / total


def row_ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The rows ``starts[k] .. ends[k] - 1`` of each k, one range after the other."""
    lengths = ends - starts
    return np.arange(lengths.sum()) + np.repeat(starts - np.cumsum(lengths) + lengths, lengths)


class VariantShares:
    """Every record's name variants (:func:`cover_key`) as rows of one sparse matrix over terms, each row's
    weights divided by its total, so the shares a question says of all variants of its candidates are one
    product (the values of :func:`share`, up to the rounding of floats). A record's rows are its variants as
    is, then without the generic action: first of its name and aliases, then of its hints."""

    def __init__(self, records: Sequence[Tuple[Sequence[Key], Tuple[int, int]]]) -> None:
        """``records[i]``: record ``i``'s keys and the two rows, counted from its first, where its plain
        variants and then its hints' plain variants begin."""
        self._vocabulary: Dict[str, int] = {}
        data: List[float] = []
        cols: List[int] = []
        indptr, starts, cuts = [0], [0], []
        for keys, bounds in records:
            for pairs, total in keys:
                for t, w in pairs:
                    cols.append(self._vocabulary.setdefault(t, len(self._vocabulary)))
                    data.append(w / total)
                indptr.append(len(cols))
            starts.append(starts[-1] + len(keys))
            cuts.append(bounds)
        self._matrix = sp.csr_matrix((np.array(data), np.array(cols, dtype=np.int64), np.array(indptr)),
                                     shape=(len(indptr) - 1, max(len(self._vocabulary), 1)))
        self._starts = np.array(starts, dtype=np.int64)
        self._cuts = np.array(cuts, dtype=np.int64).reshape(-1, 2)

    def best(self, said: AbstractSet[str], records: np.ndarray) -> np.ndarray:
        """For each of ``records``: the largest share said of its variants as is, of its name's and aliases'
        plain variants, and of its hints' (0 where it has none), as a (records, 3) array."""
        out = np.zeros((len(records), 3))
        if not len(records):
            return out
        query = np.zeros(self._matrix.shape[1])
        query[[self._vocabulary[t] for t in said if t in self._vocabulary]] = 1.0
        starts, ends = self._starts[records], self._starts[records + 1]
        lengths = ends - starts
        # a 0 at the end: where an empty last run starts
        shares = np.append(self._matrix[row_ranges(starts, ends)] @ query, 0.0)
        first = np.cumsum(lengths) - lengths   # each record's first row among ``shares``
        bounds = np.column_stack([first, first + self._cuts[records, 0], first + self._cuts[records, 1]])
        runs = np.maximum.reduceat(shares, bounds.ravel()).reshape(-1, 3)
        sizes = np.diff(np.append(bounds.ravel(), len(shares) - 1)).reshape(-1, 3)
        return np.where(sizes > 0, runs, 0.0)


Side = Tuple[Tuple[Tuple[str, float], ...], Tuple[Tuple[str, float], ...], tuple]


def question_side(idf_of: Callable[[str], float], content: Sequence[str], conf: Dict[str, float],
                  chat: AbstractSet[str], units: Sequence[Tuple[float, list]]) -> Side:
    """The question's terms with their weights, worked out once for all candidates (:class:`TermSets`): its
    content terms (a typo-corrected one at ``conf``), its chat pairs, and its everyday phrases (a weight and
    alternatives of terms with their IDF)."""
    return (tuple((t, idf_of(t) * conf.get(t, 1.0)) for t in content), tuple((t, idf_of(t)) for t in chat),
            tuple((weight, tuple((tuple((t, idf_of(t)) for t in a), total) for a, total in alts))
                  for weight, alts in units))


class TermSets:
    """Each record's terms as a row of one sparse 0/1 matrix, so how much of the question each candidate holds
    is one product with the question's weight vectors (:func:`question_side`)."""

    def __init__(self, term_sets: Sequence[AbstractSet[str]]) -> None:
        self._vocabulary: Dict[str, int] = {}
        cols = [self._vocabulary.setdefault(t, len(self._vocabulary)) for terms in term_sets for t in terms]
        indptr = np.cumsum([0] + [len(terms) for terms in term_sets])
        self._matrix = sp.csr_matrix((np.ones(len(cols)), np.array(cols, dtype=np.int64), indptr),
                                     shape=(len(term_sets), max(len(self._vocabulary), 1)))

    def coverage(self, side: Side, records: np.ndarray) -> np.ndarray:
        """For each of ``records``, a row (covered, chatted): the summed weight of the question's content terms
        and everyday phrases (each as heavy as its weight, by the best share of one of its alternatives) the
        record's terms hold, and the summed IDF of the question's chat pairs they hold."""
        content, chat, units = side
        vectors = [content, chat] + [a for _, alts in units for a, _ in alts]
        weights = np.zeros((self._matrix.shape[1], len(vectors)))
        for k, pairs in enumerate(vectors):
            for t, w in pairs:
                if t in self._vocabulary:
                    weights[self._vocabulary[t], k] += w
        held = self._matrix[records] @ weights   # per record, the weight it holds of each vector
        covered, col = held[:, 0], 2
        for weight, alts in units:
            totals = np.array([total for _, total in alts])
            covered = covered + weight * (held[:, col:col + len(alts)] / totals).max(axis=1)
            col += len(alts)
        return np.column_stack([covered, held[:, 1]])
