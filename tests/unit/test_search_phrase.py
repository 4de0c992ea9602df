"""The phrase signal of the procedure search (issue 12): a question against each name, alias and hint
of a candidate record, as one phrase (:mod:`bot.catalogue.search_phrase`)."""

import numpy as np
import pytest
import scipy.sparse as sp

from bot.catalogue import search as search_module
from bot.catalogue.search import ProcedureIndex, SearchRecord
from bot.catalogue.search_phrase import CHAR_MAX_DF, PhraseIndex, _folded

PHRASES = [
    ("Hưởng trợ cấp tuất một lần", "bố mất nhận tiền tuất một lần", "chồng mất được nhận tiền tuất"),
    ("Hỗ trợ chi phí mai táng",),
    (),   # a record with no phrase at all
    ("Cấp giấy phép lái xe", "làm bằng lái xe máy lần đầu"),
]
QUESTIONS = ["bo e mat roi, nhan tien tuat the nao", "Làm bằng lái xe máy ở đâu?", "mai tang phi", "zzz",
             "ở", "con gái e lấy chồng hàn quốc, ghi vào sổ ở xã"]


@pytest.fixture(scope="module")
def phrases():
    return PhraseIndex(PHRASES)


@pytest.mark.parametrize("text", QUESTIONS)
def test_a_question_vector_is_what_sklearn_makes(phrases, text):
    """The hand-made question vector (no per-call checks) equals the vectorizers' own transform."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [_folded(t) for own in PHRASES for t in own]
    common = max(int(CHAR_MAX_DF * len(texts)), 1)
    words = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True).fit(texts)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, max_df=common).fit(texts)
    folded = [_folded(text)]
    expected = sp.hstack([words.transform(folded), chars.transform(folded)]).toarray()[0]
    assert np.allclose(phrases._vector(folded[0]), expected, atol=1e-6)


def test_a_record_scores_its_best_phrase(phrases):
    scores = phrases.scores("bo e mat roi, nhan tien tuat the nao", np.array([0, 1, 2, 3]))
    assert scores[0] == max(scores) and scores[0] > 0.3
    assert scores[2] == 0.0                      # no phrase: nothing to be like
    single = phrases.scores("bo e mat roi, nhan tien tuat the nao", np.array([3, 0]))
    assert single[1] == pytest.approx(scores[0]) and single[0] == pytest.approx(scores[3])   # order kept
    assert phrases.scores("làm bằng lái xe máy", np.array([3]))[0] > phrases.scores("làm bằng lái", np.array([3]))[0]


def test_the_hint_that_reads_like_the_question_wins_over_a_single_word(phrases):
    hint_like = phrases.scores("lam bang lai xe may lan dau", np.array([3]))[0]
    name_only = PhraseIndex([("Cấp giấy phép lái xe",)]).scores("lam bang lai xe may lan dau", np.array([0]))[0]
    assert hint_like > name_only


@pytest.mark.parametrize("catalogue", [[], [()], [(), ("  ",)]])
def test_catalogues_without_phrases_score_zero(catalogue):
    index = PhraseIndex(catalogue)
    records = np.arange(len(catalogue))
    assert index.scores("bằng lái", records).tolist() == [0.0] * len(catalogue)
    assert index.scores("", records).tolist() == [0.0] * len(catalogue)
    assert index.scores("bằng lái", np.array([], dtype=np.int64)).tolist() == []


def test_phrases_of_one_letter_words_have_only_their_letters():
    """No word of two letters: the word part has no vocabulary and is left out, the letters still count."""
    index = PhraseIndex([("a b c",), ("d",)])
    scores = index.scores("a b", np.array([0, 1]))
    assert 0.0 < scores[0] <= 1.0 and scores[1] == 0.0


RECORDS = [
    SearchRecord("T1", "Hưởng trợ cấp tuất một lần", (), "Bảo hiểm xã hội", "province", False,
                 ("bố đang hưởng lương hưu thì mất, gia đình nhận tiền tuất",)),
    SearchRecord("T2", "Hưởng trợ cấp khi người có công đang hưởng trợ cấp ưu đãi từ trần", (), "Người có công",
                 "province", False, ("người có công mất, gia đình nhận trợ cấp",)),
]


def test_the_phrase_signal_ranks_but_is_no_evidence_of_a_find(monkeypatch):
    """Raising the phrase weight reorders candidates; the part the decision counts as words is unchanged."""
    index = ProcedureIndex.build(RECORDS)
    text = "bố đang hưởng lương hưu mất, gia đình nhận tiền tuất ở đâu"
    ranked = index._ranked(text, None)[1]
    assert ranked[0][0].code == "T1"
    monkeypatch.setattr(search_module, "W_PHRASE", 0.0)
    without = index._ranked(text, None)[1]
    words_with = {h.code: h.score - c[2] for h, c in ranked}
    words_without = {h.code: h.score - c[2] for h, c in without}
    assert words_with == pytest.approx(words_without, abs=1e-3)      # found-or-not: the words decide, not the likeness
    assert {h.code: h.score for h, _ in ranked} != {h.code: h.score for h, _ in without}


def test_a_hints_place_names_are_no_part_of_its_phrase():
    """"hồ Thác Bà" in a hint would make any question naming the lake like it: the phrase leaves it out."""
    def phrase_score(hint):
        index = ProcedureIndex.build([SearchRecord("P1", "Cấp giấy phép nuôi trồng thủy sản", (), "Thủy sản",
                                                   "commune", False, (hint,))])
        return index._phrase.scores("nha e o Thac Ba", np.array([0]))[0]
    assert phrase_score("thả lồng cá trên hồ Thác Bà") == pytest.approx(phrase_score("thả lồng cá trên hồ"))
