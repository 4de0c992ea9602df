"""The procedure search's faster parts (issue 12, made faster for issue 15) give the values of the plain
definitions they replace: the everyday phrases a question says (:func:`bot.catalogue.search_text.colloquial_in`
against a substring test of every phrase), the shares of a record's name variants (:class:`bot.catalogue.search_cover.VariantShares`
against :func:`share`), how much of a question records hold (:class:`TermSets` against :func:`coverage` below, record by record), and
the character cosine (:class:`bot.catalogue.search_char.CharIndex` against
sklearn's own transform)."""

import random

import numpy as np
import pytest

from bot.catalogue import search_text as st
from bot.catalogue.search_char import CharIndex
from bot.catalogue.search_cover import TermSets, VariantShares, cover_key, question_side, share


def coverage(side, terms):
    """The plain definition: summed weight of the content terms and everyday phrases (each by the best share of
    one of its alternatives) that ``terms`` hold, and summed weight of the chat pairs they hold."""
    content, chat, units = side
    covered = sum(w for t, w in content if t in terms)
    for weight, alts in units:
        covered += weight * max(sum(w for t, w in a if t in terms) / total for a, total in alts)
    return covered, sum(w for t, w in chat if t in terms)


WORDS = ["cap", "lai", "giay", "phep", "lai_xe", "ho", "chieu", "khai", "sinh", "the", "bhyt", "dat", "so", "do"]


def _idf(term):
    return 1.0 + (sum(map(ord, term)) % 7) / 3


def _records(rng, n):
    """Random records: 1-4 name variants and 0-5 hint variants each (as is, then plain), with their bounds."""
    out = []
    for _ in range(n):
        official = [rng.sample(WORDS, rng.randint(1, 5)) for _ in range(rng.randint(1, 4))]
        hints = [rng.sample(WORDS, rng.randint(1, 6)) for _ in range(rng.randint(0, 5))]
        variants = official + hints
        keys = [cover_key(v, _idf) for v in variants] + [cover_key(v, _idf, True) for v in variants]
        out.append((keys, (len(variants), len(variants) + len(official))))
    return out


@pytest.mark.parametrize("seed", range(5))
def test_variant_shares_are_the_best_shares(seed):
    rng = random.Random(seed)
    records = _records(rng, 40)
    shares = VariantShares(records)
    for _ in range(20):
        said = set(rng.sample(WORDS + ["zzz"], rng.randint(0, 8)))
        picked = np.array(sorted(rng.sample(range(len(records)), rng.randint(0, 12))), dtype=np.int64)
        got = shares.best(said, picked)
        for row, i in zip(got, picked):
            keys, (plain, hints) = records[i]
            expected = [max((share(k, said) for k in part), default=0.0)
                        for part in (keys[:plain], keys[plain:hints], keys[hints:])]
            assert row == pytest.approx(expected, abs=1e-12)
        assert got.shape == (len(picked), 3)


def test_variant_shares_of_no_record_and_of_an_empty_catalogue():
    assert VariantShares(_records(random.Random(1), 3)).best({"cap"}, np.array([], dtype=np.int64)).shape == (0, 3)
    assert VariantShares([]).best({"cap"}, np.array([], dtype=np.int64)).shape == (0, 3)


TEXTS = ["dang ky khai sinh", "cap lai giay phep lai xe", "cap ho chieu pho thong", "ket hon", "chung thuc ban sao"]


@pytest.mark.parametrize("question", ["khai sin", "cavet xe may", "ho chieu", "dangky ket hon", "zzz", "a"])
def test_the_character_cosine_is_sklearns(question):
    index = CharIndex(TEXTS)
    expected = (index._vectorizer.transform([question]) @ index._matrix.T).toarray()[0]
    assert np.allclose(index.scores(question), expected, atol=1e-6)


@pytest.mark.parametrize("seed", range(5))
def test_term_sets_cover_as_coverage_does(seed):
    """Content terms (one typo-corrected), chat pairs and everyday phrases with alternatives, on random records."""
    rng = random.Random(seed)
    term_sets = [frozenset(rng.sample(WORDS, rng.randint(0, 7))) for _ in range(30)]
    sets = TermSets(term_sets)
    for _ in range(20):
        content = rng.sample(WORDS + ["zzz"], rng.randint(0, 6))
        conf = {t: 0.5 for t in content[:1]}
        chat = set(rng.sample(WORDS, rng.randint(0, 2)))
        units = [(rng.uniform(1, 4), [(a, sum(map(_idf, a)) or 1.0) for a in
                                      (rng.sample(WORDS, rng.randint(1, 3)) for _ in range(rng.randint(1, 2)))])
                 for _ in range(rng.randint(0, 2))]
        side = question_side(_idf, content, conf, chat, units)
        picked = np.array(sorted(rng.sample(range(len(term_sets)), rng.randint(0, 10))), dtype=np.int64)
        got = sets.coverage(side, picked)
        assert got.shape == (len(picked), 2)
        for row, i in zip(got, picked):
            assert row == pytest.approx(coverage(side, term_sets[i]), abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_the_everyday_phrases_said_are_those_a_substring_test_finds(seed):
    rng = random.Random(seed)
    phrases = list(st.COLLOQUIAL)
    for _ in range(200):
        words = []
        for _ in range(rng.randint(0, 4)):
            words += rng.choice(phrases).split() if rng.random() < 0.6 else rng.sample(WORDS + ["|", "lam"], 2)
        padded = f" {' '.join(words)} "
        assert st.colloquial_in(words) == [p for p in phrases if f" {p} " in padded]
