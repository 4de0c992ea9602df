"""Procedure search over the real catalogue (5,652 national + 58 curated records) on the
citizen phrasings of tests/nlu/procedure_search.yml (issue 12).

Hard guarantees: never "sure" with a wrong code (on every phrasing set), p95 well under budget,
the issue's accuracy targets (top-1 >= 0.85, top-3 >= 0.95) on this development set; the
regression floors below are just under what the index reaches today (``python -m
benchmarks.search``: 0.894 / 0.979 since stop 34 relabelled the BHYT card phrasings from the police's
own records to the one for everyone; counting what is shown: "not found" shows no procedure). On new
phrasings it reaches less (README: the unseen sets)."""

import time
from pathlib import Path

import pytest
import yaml

from bot.catalogue.search import ProcedureIndex, records_from_files

ROOT = Path(__file__).resolve().parents[2]
FLOOR_TOP1, FLOOR_TOP3 = 0.89, 0.97


@pytest.fixture(scope="module")
def records():
    return records_from_files(ROOT / "data/national/procedures.json.gz", ROOT / "data/procedures.json")


@pytest.fixture(scope="module")
def index(records):
    return ProcedureIndex.build(records)


@pytest.fixture(scope="module")
def results(index):
    cases = yaml.safe_load((ROOT / "tests/nlu/procedure_search.yml").read_text(encoding="utf-8"))["cases"]
    out = []
    for case in cases:
        start = time.perf_counter()
        decision = index.decide(case["text"])
        elapsed = (time.perf_counter() - start) * 1000
        out.append((case, decision, elapsed))
    return out


def _rates(results):
    top1 = top3 = 0
    for case, decision, _ in results:
        ok = {case["code"], *case.get("acceptable", [])}
        codes = [h.code for h in decision.hits] if decision.kind != "none" else []   # as shown
        top1 += bool(codes) and codes[0] in ok
        top3 += any(c in ok for c in codes[:3])
    return top1 / len(results), top3 / len(results)


def test_whole_catalogue_is_indexed(index):
    assert len(index) >= 5652


def test_never_sure_with_a_wrong_code(results):
    wrong = [(c["text"], d.code) for c, d, _ in results
             if d.kind == "sure" and d.code not in {c["code"], *c.get("acceptable", [])}]
    assert wrong == []


@pytest.mark.parametrize("name", ["extra", "blind", "fresh", "fresh2", "fresh3", "fresh4", "fresh5", "fresh6", "fresh7",
                                  "fresh8", "fresh9", "fresh10", "fresh11", "fresh12", "fresh13",
                                  "fresh14", "fresh15", "fresh16", "fresh17", "fresh18", "fresh19", "fresh20",
                                  "fresh21", "fresh22", "fresh23"])
def test_never_sure_with_a_wrong_code_on_the_other_sets(index, name):
    """tests/nlu/procedure_search_<name>.yml: a wrong first hit must be a question, never an answer."""
    path = ROOT / f"tests/nlu/procedure_search_{name}.yml"
    cases = yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]
    wrong = []
    for case in cases:
        decision = index.decide(case["text"])
        if decision.kind == "sure" and decision.code not in {case["code"], *case.get("acceptable", [])}:
            wrong.append((case["text"], decision.code))
    assert wrong == []


def test_the_results_do_not_depend_on_the_hash_seed(results):
    """Another process with another string hash seed ranks and decides every phrasing the same, scores
    included: nothing may depend on the order a set of strings is walked in."""
    import os
    import subprocess
    import sys

    seed = "2" if os.environ.get("PYTHONHASHSEED") == "1" else "1"
    script = ("import sys, yaml; from bot.catalogue.search import ProcedureIndex, records_from_files as r\n"
              "i = ProcedureIndex.build(r('data/national/procedures.json.gz', 'data/procedures.json'))\n"
              "for c in yaml.safe_load(open('tests/nlu/procedure_search.yml'))['cases']:\n"
              "    d = i.decide(c['text']); print(d.kind, [(h.code, h.score) for h in d.hits])\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}, check=True)
    here = [f"{d.kind} {[(h.code, h.score) for h in d.hits]}" for _, d, _ in results]
    assert out.stdout.splitlines() == here


def test_no_answer_to_a_question_no_procedure_covers(index):
    """tests/nlu/procedure_search_negatives.yml (written blind): never an answer, and mostly "not found"
    (0.50 today) or "not found for sure" with the nearest offered (0.20) rather than plain buttons."""
    cases = yaml.safe_load((ROOT / "tests/nlu/procedure_search_negatives.yml").read_text(encoding="utf-8"))["cases"]
    kinds = [index.decide(case["text"]).kind for case in cases]
    assert len(kinds) >= 60 and kinds.count("sure") == 0
    assert kinds.count("none") / len(kinds) >= 0.4
    assert (kinds.count("none") + kinds.count("maybe")) / len(kinds) >= 0.6
    assert [_assistant(index, case["text"]).kind for case in cases].count("sure") == 0


def _assistant(index, text: str):
    """The decision as the assistant takes it (CatalogueService.resolve): the question's topic first."""
    from bot.catalogue.service import decide_message

    return decide_message(index, text)


@pytest.mark.parametrize("name", ["", "_extra", "_blind", "_fresh", "_fresh2", "_fresh3", "_fresh4", "_fresh5",
                                  "_fresh6", "_fresh7", "_fresh8", "_fresh9", "_fresh10", "_fresh11", "_fresh12",
                                  "_fresh13", "_fresh14", "_fresh15", "_fresh16", "_fresh17", "_fresh18", "_fresh19",
                                  "_fresh20", "_fresh21", "_fresh22", "_fresh23"])
def test_never_sure_with_a_wrong_code_as_the_assistant_asks(index, name):
    """The question's topic ("cho hỏi ... cần gì" stripped) is searched first: stripping must never turn a
    question into a wrong answer ("ko muốn làm người giám sát ... nữa" is no request to become one)."""
    cases = yaml.safe_load((ROOT / f"tests/nlu/procedure_search{name}.yml").read_text(encoding="utf-8"))["cases"]
    wrong = []
    for case in cases:
        decision = _assistant(index, case["text"])
        if decision.kind == "sure" and decision.code not in {case["code"], *case.get("acceptable", [])}:
            wrong.append((case["text"], decision.code))
    assert wrong == []


def test_every_official_word_of_the_vocabulary_is_in_a_name(records):
    """An everyday phrase adds official words; each must be a word of some procedure name, or it adds
    nothing but noise (a typo, a word the catalogue never uses)."""
    from bot.catalogue import search_text as st

    names = {w for record in records for w in st.record_words(record.name)}
    assert [(k, v) for k, v in st.COLLOQUIAL.items() if not set(v.split()) <= names] == []


def test_no_everyday_phrase_is_written_twice():
    """YAML keeps the last of two equal keys without a word; folded keys must be unique per section."""
    import re
    from collections import Counter

    from bot.catalogue import search_text as st

    text = (ROOT / "data/search_vocabulary.yml").read_text(encoding="utf-8")
    for section in re.split(r"^(?=\w+:\n)", text, flags=re.M):
        keys = Counter(st._folded(k) for k in re.findall(r'^\s+"([^"]+)":', section, re.M))
        assert [k for k, n in keys.items() if n > 1] == []


def test_accuracy_floors(results):
    top1, top3 = _rates(results)
    print(f"top-1 {top1:.3f} top-3 {top3:.3f}")
    assert top1 >= FLOOR_TOP1 and top3 >= FLOOR_TOP3


def test_issue_targets(results):
    top1, top3 = _rates(results)
    assert top1 >= 0.85 and top3 >= 0.95


def test_search_time(results):
    times = sorted(t for _, _, t in results)
    p95 = times[int(0.95 * len(times))]
    print(f"p95 {p95:.1f} ms")
    assert p95 < 60  # target 20 ms; margin for a loaded 2-core CI machine


def test_records_from_session_reads_the_table(seeded_url):
    """records_from_session selects only the columns the search needs (one row per procedure, the
    field's name by a join) and gives the same decisions as the curated file."""
    from bot.catalogue.search import records_from_session
    from bot.catalogue.search_records import load_hints
    from bot.db.session import session_scope

    with session_scope(seeded_url) as session:
        records = records_from_session(session)
    by_code = {r.code: r for r in records}
    assert len(by_code) == len(records) >= 58
    assert by_code["1.001193"].field == "Hộ tịch" and by_code["1.001193"].local
    assert by_code["1.001193"].hints == load_hints()["1.001193"]   # the everyday phrases, whatever the source
    index = ProcedureIndex.build(records)
    assert index.decide("khai sinh").code == "1.001193"
    assert index.decide("xin chào").kind == "none"


def test_a_bare_follow_up_stays_bare_with_the_names_pairs(index):
    """The catalogue's word pairs keep "tai nạn" whole, but never turn a bare question ("lệ phí bao
    nhiêu": "lệ phí" is a pair of many names) into a topic: it must still ask about the procedure in context."""
    from bot.catalogue.query import topic
    from tests.unit.test_query_topic import BARE

    assert [t for t in BARE + ["lệ phí bao nhiêu", "căn cứ pháp lý là gì vậy", "nộp hồ sơ ở đâu ạ"]
            if topic(t, joined=index.names_pair)] == []
    assert topic("bi tai nan lao dong huong che do gi", joined=index.names_pair).startswith("bi tai nan")
