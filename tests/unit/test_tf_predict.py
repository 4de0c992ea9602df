"""The NLU model's traced graph called directly (issue 15) parses exactly as Rasa's dispatch does."""

from __future__ import annotations

import asyncio
from typing import Any, Iterator, List

import numpy as np
import pytest
from rasa.core.agent import Agent
from rasa.utils.tensorflow.models import RasaModel

from bot.cli.train import latest_model
from integrations import tf_predict
from integrations.rasa_process import install as install_all
from tests.support.rasa_patches import keep_rasa_as_is

MESSAGES = ["xin chào", "xin chao", "làm giấy khai sinh cần giấy tờ gì", "lam giay khai sinh can j",
            "còn lệ phí thì sao?", "le phi bn", "tra cứu hồ sơ 000.00.15.H65-240312-0001", "5678",
            "cảm ơn nhé", "hộ chiếu làm ở đâu", "cho gặp cán bộ", "", "🙂", "asdkjh qwe zzz",
            "dang ky ket hon mat bao lau " * 40, "ko hieu", "ok"]


@pytest.fixture(scope="module")
def agent() -> Iterator[Any]:
    """The trained model with the direct call installed; Rasa's own call restored after."""
    tf_predict.install()
    try:
        yield Agent.load(str(latest_model()))
    finally:
        tf_predict.uninstall()


def _parse_all(agent: Any) -> List[dict]:
    return [asyncio.run(agent.parse_message(text)) for text in MESSAGES]


def test_parses_are_identical_to_rasas_dispatch(agent: Any) -> None:
    ours = _parse_all(agent)
    tf_predict.uninstall()
    try:
        theirs = _parse_all(agent)
    finally:
        tf_predict.install()
    assert ours == theirs  # intents, ranking confidences and entities, to the last bit
    assert ours[2]["intent"]["name"] == "ask_documents"


def test_after_the_first_call_rasas_dispatch_is_not_used(agent: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _parse_all(agent)
    calls = []
    original = tf_predict._original["_rasa_predict"]
    monkeypatch.setitem(tf_predict._original, "_rasa_predict",
                        lambda model, batch: calls.append(1) or original(model, batch))
    _parse_all(agent)
    assert calls == []
    assert len(tf_predict._graphs) >= 1


def test_a_batch_that_does_not_fit_the_signature_takes_rasas_path(agent: Any) -> None:
    _parse_all(agent)
    model = next(iter(tf_predict._graphs.keys()))
    graph = tf_predict._graphs[model]
    assert tf_predict._tensors(graph, [np.zeros(1)]) is None  # wrong number of inputs
    specs = graph.structured_input_signature[0][0]
    strings = [np.array([["x"]]) for _ in specs]
    assert tf_predict._tensors(graph, strings) is None  # not convertible to the signature's types
    calls = []
    original = tf_predict._original["_rasa_predict"]
    tf_predict._original["_rasa_predict"] = lambda m, batch: calls.append(1) or {}
    try:
        assert RasaModel._rasa_predict(model, strings) == {}
    finally:
        tf_predict._original["_rasa_predict"] = original
    assert calls == [1]


def test_the_rasa_process_installs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    keep_rasa_as_is(monkeypatch)
    install_all()
    assert RasaModel.__dict__["_rasa_predict"] is tf_predict._rasa_predict
