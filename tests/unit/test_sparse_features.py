"""Sparse features joined in one ``hstack`` (issue 15) are exactly Rasa's pairwise joins."""

from __future__ import annotations

import asyncio
from typing import Any, Iterator, List

import numpy as np
import pytest
import scipy.sparse
from rasa.core.agent import Agent
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message

from bot.cli.train import latest_model
from integrations import sparse_features
from integrations.rasa_process import install as install_all
from tests.support.rasa_patches import keep_rasa_as_is

MESSAGES = ["xin chào", "lam giay khai sinh can j", "còn lệ phí thì sao?", "5678", "", "🙂",
            "tra cứu hồ sơ 000.00.15.H65-240312-0001", "hộ chiếu làm ở đâu " * 30]


@pytest.fixture()
def installed() -> Iterator[None]:
    sparse_features.install()
    try:
        yield
    finally:
        sparse_features.uninstall()


def _rasa(features: List[Features], featurizers: List[str]) -> Any:
    return sparse_features._original["_combine_features"](features, featurizers)


def _same(ours: Any, theirs: Any) -> None:
    assert (ours is None) == (theirs is None)
    if ours is None:
        return
    assert (ours.type, ours.attribute, ours.origin) == (theirs.type, theirs.attribute, theirs.origin)
    a, b = ours.features, theirs.features
    assert a.format == b.format and a.dtype == b.dtype and a.shape == b.shape
    assert np.array_equal(a.row, b.row) and np.array_equal(a.col, b.col) and np.array_equal(a.data, b.data)


def _sparse(rows: int, cols: int, dtype: Any, seed: int) -> Any:
    return scipy.sparse.random(rows, cols, density=0.3, format="coo", dtype=dtype, random_state=seed)


@pytest.mark.parametrize("dtypes", [[np.float64] * 4, [np.int64, np.float64, np.float32], [np.float32, np.float32]])
@pytest.mark.parametrize("rows", [1, 7])
def test_generated_features_join_as_rasa_joins_them(installed: None, dtypes: List[Any], rows: int) -> None:
    features = [Features(_sparse(rows, 3 + i, dtype, i), "sequence", "text", f"f{i}") for i, dtype in enumerate(dtypes)]
    featurizers = ["f0", "f1"]
    _same(Message._combine_features(features, featurizers), _rasa(features, featurizers))


def test_single_dense_and_mismatched_features_take_rasas_path(installed: None) -> None:
    one = [Features(_sparse(2, 3, np.float64, 1), "sentence", "text", "a")]
    _same(Message._combine_features(one, []), _rasa(one, []))
    assert Message._combine_features([], []) is None
    dense = [Features(np.ones((1, 2)), "sentence", "text", "a"), Features(np.zeros((1, 3)), "sentence", "text", "b")]
    assert np.array_equal(Message._combine_features(dense, []).features, _rasa(dense, []).features)
    mismatched = [Features(_sparse(2, 3, np.float64, 1), "sequence", "text", "a"),
                  Features(_sparse(3, 3, np.float64, 2), "sequence", "text", "b")]
    with pytest.raises(ValueError, match="sequence dimensions do not match"):
        Message._combine_features(mismatched, [])


def test_the_trained_model_parses_the_same(installed: None) -> None:
    agent = Agent.load(str(latest_model()))
    ours = [asyncio.run(agent.parse_message(text)) for text in MESSAGES]
    sparse_features.uninstall()
    theirs = [asyncio.run(agent.parse_message(text)) for text in MESSAGES]
    sparse_features.install()
    assert ours == theirs
    assert ours[1]["intent"]["name"] == "ask_documents"


def test_the_rasa_process_installs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    keep_rasa_as_is(monkeypatch)
    install_all()
    assert Message.__dict__["_combine_features"].__func__ is sparse_features._combine_features
