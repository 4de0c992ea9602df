"""The planned graph runner (issue 15) gives exactly what Rasa's dask runner gives, on the trained model."""

from __future__ import annotations

import asyncio
from typing import Any, List

import pytest
from rasa.core import processor as rasa_processor
from rasa.core.agent import Agent
from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.cli.train import latest_model
from integrations import graph_runner

MESSAGES = ["xin chào", "xin chao", "làm giấy khai sinh cần giấy tờ gì", "lam giay khai sinh can j",
            "còn lệ phí thì sao?", "le phi bn", "tra cứu hồ sơ 000.00.15.H65-240312-0001", "5678",
            "cảm ơn nhé", "hộ chiếu làm ở đâu", "cho gặp cán bộ", "", "🙂", "asdkjh qwe zzz",
            "dang ky ket hon mat bao lau", "ko hieu", "ok"]


@pytest.fixture(scope="module")
def agent(request: pytest.FixtureRequest) -> Any:
    """The trained model, loaded after ``install()`` (as serve's Rasa does); Rasa's own runner restored after."""
    original = rasa_processor.DaskGraphRunner
    graph_runner.install()
    try:
        loaded = Agent.load(str(latest_model()))
    finally:
        rasa_processor.DaskGraphRunner = original
    return loaded


def _dask_twin(planned: graph_runner.PlannedGraphRunner) -> DaskGraphRunner:
    """Rasa's dask runner over the very same node instances."""
    twin = DaskGraphRunner.__new__(DaskGraphRunner)
    twin.__dict__.update({k: v for k, v in planned.__dict__.items() if k != "_plans"})
    return twin


def test_install_makes_rasa_load_the_planned_runner(agent: Any) -> None:
    assert type(agent.processor.graph_runner) is graph_runner.PlannedGraphRunner
    assert rasa_processor.DaskGraphRunner is DaskGraphRunner  # the fixture put Rasa's back


def _parse_all(agent: Any) -> List[dict]:
    return [asyncio.run(agent.parse_message(text)) for text in MESSAGES]


def test_parses_are_identical(agent: Any) -> None:
    planned = agent.processor.graph_runner
    ours = _parse_all(agent)
    agent.processor.graph_runner = _dask_twin(planned)
    try:
        theirs = _parse_all(agent)
    finally:
        agent.processor.graph_runner = planned
    assert ours == theirs
    assert ours[2]["intent"]["name"] == theirs[2]["intent"]["name"]


def test_predictions_are_identical(agent: Any) -> None:
    planned = agent.processor.graph_runner
    parses = _parse_all(agent)
    predictions = {}
    for name, runner in (("planned", planned), ("dask", _dask_twin(planned))):
        agent.processor.graph_runner = runner
        got = []
        for i, parse in enumerate(parses):
            tracker = DialogueStateTracker.from_events(f"rest:t{i}", [
                ActionExecuted("action_session_start"), ActionExecuted("action_listen"),
                UserUttered(parse["text"], parse["intent"], parse["entities"], parse)], agent.domain.slots)
            prediction = agent.processor._predict_next_with_tracker(tracker)
            got.append((prediction.max_confidence_index, prediction.policy_name, prediction.probabilities))
        predictions[name] = got
    agent.processor.graph_runner = planned
    assert predictions["planned"] == predictions["dask"]


def test_an_input_named_like_a_node_is_refused(agent: Any) -> None:
    runner = agent.processor.graph_runner
    node = next(iter(runner._graph_schema.nodes))
    with pytest.raises(GraphRunError, match="clashes"):
        runner.run(inputs={"__message__": node}, targets=[agent.processor.model_metadata.nlu_target])
