"""The action-response validator compiled once (issue 15) rejects exactly what Rasa's own check rejects."""

from __future__ import annotations

import asyncio
import copy
import random
from typing import Any, Dict, List

import jsonschema
import pytest
from aiohttp import web
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from integrations import action_validation
from tests.support.rasa_patches import keep_rasa_as_is

VALID = [
    {},
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "procedure", "value": "1.001"},
                {"event": "slot", "name": "verified", "value": None, "timestamp": 1.5}],
     "responses": [{"response": "utter_procedure_fee", "fees": "50.000 đồng"}]},
    {"events": [{"event": "bot", "text": "Xin chào", "data": {"buttons": []}, "metadata": {}},
                {"event": "followup", "name": "action_listen"},
                {"event": "active_loop", "name": "dossier_form"},
                {"event": "active_loop", "name": None},
                {"event": "reminder", "intent": "remind", "date_time": "2026-12-04T10:00:00",
                 "name": "r1", "kill_on_user_message": True, "entities": []},
                {"event": "pause"}, {"event": "resume"}, {"event": "restart"},
                {"event": "action_execution_rejected", "name": "validate_dossier_form"}],
     "responses": [{"text": "Mã hồ sơ?", "buttons": [{"title": "Huỷ", "payload": "/stop"}]}]},
]
MALFORMED = [
    {"events": "slot"},
    {"events": [{"name": "procedure", "value": 1}]},
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"event": "slot", "value": "x"}]},
    {"events": [{"event": "followup"}]},
    {"events": [{"event": "bot", "text": 3}]},
    {"responses": ["utter_greet"]},
    {"responses": {"text": "x"}},
    [],
    "ok",
]


@pytest.mark.parametrize("result", VALID + MALFORMED, ids=lambda r: repr(r)[:60])
def test_same_verdict_and_message_as_rasa(result: Any) -> None:
    """Accept and reject exactly as ``jsonschema.validate`` on Rasa's schema, with the same message."""
    schema = RemoteAction.action_response_format_spec()
    try:
        jsonschema.validate(result, schema)
        expected = None
    except jsonschema.ValidationError as exc:
        expected = exc.message
    if expected is None:
        assert action_validation.validate_action_result(None, copy.deepcopy(result)) is True
    else:
        with pytest.raises(jsonschema.ValidationError) as caught:
            action_validation.validate_action_result(None, copy.deepcopy(result))
        assert caught.value.message.startswith(expected)
        assert "Failed to validate Action server response" in caught.value.message


def test_schema_checked_and_compiled_once() -> None:
    """Many validations build the validators once."""
    action_validation.action_response_validator.cache_clear()
    action_validation.event_kind_validators.cache_clear()
    for _ in range(50):
        action_validation.validate_action_result(None, VALID[2])
        with pytest.raises(jsonschema.ValidationError):
            action_validation.validate_action_result(None, MALFORMED[3])
    assert action_validation.action_response_validator.cache_info().misses == 1
    assert action_validation.event_kind_validators.cache_info().misses == 1


FIELDS: Dict[str, List[Any]] = {
    "name": ["procedure", 1, None], "value": ["x", 2, None, [1]], "text": ["Xin chào", 3, None],
    "timestamp": [1.5, "x", None], "metadata": [{}, [], None], "policy": ["RulePolicy", 2],
    "confidence": [0.5, "high"], "hide_rule_turn": [True, "no"],
    "entities": [[], [{"entity": "a", "value": 1}], [{"value": 1}], "x", [{"entity": "a", "value": 1, "start": "0"}]],
    "parse_data": [{}, {"intent": {"name": "greet", "confidence": 0.9}, "entities": []}, {"intent": "greet"},
                   {"response_selector": {"all_retrieval_intents": []}}, {"response_selector": {"all_retrieval_intents": 1}},
                   {"intent_ranking": [{"name": 1}]}],
}


def test_the_shorter_path_gives_the_full_verdict() -> None:
    """On 3,000 generated events of every kind, the per-kind check accepts exactly what the full schema accepts."""
    kinds = [k["properties"]["event"]["const"] for k in RemoteAction.action_response_format_spec()
             ["properties"]["events"]["items"]["oneOf"]]
    rng = random.Random(15)
    full = action_validation.action_response_validator()
    accepted = 0
    for _ in range(3000):
        event: Dict[str, Any] = {key: rng.choice(values) for key, values in FIELDS.items() if rng.random() < 0.3}
        if rng.random() < 0.95:
            event["event"] = rng.choice([*kinds, "no_such_event", 3, None, ["slot"]])
        result = {"events": [event, {"event": "bot", "text": "ok"}]}
        assert action_validation.plainly_valid(result) == full.is_valid(result), result
        accepted += full.is_valid(result)
    assert 300 < accepted < 2700  # both verdicts well represented


async def _serve(body: Any) -> web.AppRunner:
    async def webhook(_request: web.Request) -> web.Response:
        return web.json_response(body)

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner


async def _run_remote(body: Dict[str, Any]) -> Any:
    runner = await _serve(body)
    try:
        port = runner.addresses[0][1]
        action = RemoteAction("action_answer_procedure", EndpointConfig(f"http://127.0.0.1:{port}/webhook"))
        domain = Domain.from_dict({"actions": ["action_answer_procedure"], "slots": {
            "procedure": {"type": "any", "mappings": [{"type": "custom"}]}}})
        tracker = DialogueStateTracker("rest:test", domain.slots)
        return await action.run(CollectingOutputChannel(), TemplatedNaturalLanguageGenerator(domain.responses),
                                tracker, domain)
    finally:
        await runner.cleanup()


@pytest.fixture
def restored(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rasa's methods as they were, after the test (install() patches them process-wide)."""
    keep_rasa_as_is(monkeypatch)


def test_installed_in_rasa_a_malformed_response_from_a_real_server_is_still_rejected(restored: None) -> None:
    """After ``install()``, Rasa's RemoteAction over HTTP rejects a malformed response and takes a valid one."""
    action_validation.install()
    assert RemoteAction._validate_action_result is action_validation.validate_action_result
    with pytest.raises(jsonschema.ValidationError):
        asyncio.run(_run_remote({"events": [{"event": "no_such_event"}], "responses": []}))
    events = asyncio.run(_run_remote({"events": [{"event": "slot", "name": "procedure", "value": "1.001"}]}))
    assert [(e.key, e.value) for e in events] == [("procedure", "1.001")]


def test_the_rasa_process_installs_it(restored: None) -> None:
    """``integrations.rasa_process.install`` (what serve's Rasa runs first) installs the validator."""
    from integrations import endpoint_sessions, rasa_process

    rasa_process.install()
    assert RemoteAction._validate_action_result is action_validation.validate_action_result
    assert EndpointConfig.session is endpoint_sessions.lend_session
