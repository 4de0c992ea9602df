"""The second look (issue 12): a message the NLU did not read as a procedure question reaches the search
only on the search's own evidence (:func:`bot.catalogue.service.asks_procedure`). Measured on fixed data: the
procedure questions of the studied blind sets, and messages that are no procedure question."""

from __future__ import annotations

from typing import List

import pytest
import yaml

from benchmarks.search_routing import nlu_negatives
from bot.catalogue.search import ProcedureIndex, records_from_files
from bot.catalogue.service import asks_procedure
from bot.settings import ROOT

NLU = ROOT / "tests" / "nlu"
STUDIED = ["procedure_search_fresh11.yml", "procedure_search_fresh12.yml", "procedure_search_fresh13.yml",
           "procedure_search_fresh14.yml"]


@pytest.fixture(scope="module")
def index() -> ProcedureIndex:
    return ProcedureIndex.build(records_from_files(ROOT / "data/national/procedures.json.gz",
                                                   ROOT / "data/procedures.json"))


def _texts(name: str) -> List[str]:
    return [c["text"] for c in yaml.safe_load((NLU / name).read_text(encoding="utf-8"))["cases"]]


def test_most_procedure_questions_name_their_procedure_on_the_search_evidence(index) -> None:
    texts = [t for name in STUDIED for t in _texts(name)]
    share = sum(asks_procedure(index, t) for t in texts) / len(texts)
    assert share >= 0.75, share


def test_chat_and_off_topic_messages_rarely_do(index) -> None:
    texts = nlu_negatives() + _texts("routing_negatives_a.yml")
    passed = [t for t in texts if asks_procedure(index, t)]
    assert len(passed) / len(texts) <= 0.06, passed


@pytest.mark.parametrize("text", ["lam cai nay the nao", "giá vàng hôm nay bao nhiêu", "alo", "ok", "😀😀", "",
                                  "cảm ơn ad nhiều", "thời tiết sa pa cuối tuần", "   ", "a" * 5000])
def test_plain_chat_names_no_procedure(index, text: str) -> None:
    assert not asks_procedure(index, text)


@pytest.mark.parametrize("text", ["cấp phép bắn pháo hoa dịp lễ hội", "xin giấy phép khai thác cát sỏi lòng suối",
                                  "đăng ký tàu cá cho thuyền đánh cá trên hồ"])
def test_a_rare_procedure_named_in_everyday_words_is_seen(index, text: str) -> None:
    assert asks_procedure(index, text)
