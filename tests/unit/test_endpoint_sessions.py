"""Action calls over kept-alive connections: Rasa's RemoteAction against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import ast
import asyncio
import json
import math
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
import rasa.core.run
from aiohttp import web
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import ClientResponseError, EndpointConfig
from rasa_sdk import Tracker

from integrations import endpoint_sessions

DOMAIN = Domain.from_dict({"actions": ["action_answer_procedure"], "slots": {
    "procedure": {"type": "any", "mappings": [{"type": "custom"}]}}})


@pytest.fixture
def installed() -> Iterator[None]:
    """The shared sessions installed for the test, Rasa's own methods put back after it."""
    session, close = EndpointConfig.session, rasa.core.run.close_resources
    endpoint_sessions.install()
    yield
    endpoint_sessions.uninstall()
    assert EndpointConfig.session is session and rasa.core.run.close_resources is close


class Server:
    """An action server stand-in recording each request's body, headers and client port."""

    def __init__(self, status: int = 200) -> None:
        self.status, self.bodies, self.ports, self.headers = status, [], [], []  # type: ignore[var-annotated]

    async def webhook(self, request: web.Request) -> web.Response:
        self.bodies.append(json.loads(await request.text()))
        self.ports.append(request.transport.get_extra_info("peername")[1])  # type: ignore[union-attr]
        self.headers.append(dict(request.headers) | {"query": dict(request.query)})
        if self.status != 200:
            return web.json_response({"error": "no"}, status=self.status)
        return web.json_response({"events": [{"event": "slot", "name": "procedure", "value": "1.001"}],
                                  "responses": [{"text": "Đăng ký khai sinh"}]})

    async def run(self, calls: int, endpoint: Dict[str, Any], pause: float = 0.0) -> List[Any]:
        app = web.Application()
        app.router.add_post("/webhook", self.webhook)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        config = EndpointConfig(f"http://127.0.0.1:{runner.addresses[0][1]}/webhook", **endpoint)
        tracker = DialogueStateTracker("rest:test", DOMAIN.slots)
        tracker.update(UserUttered("lệ phí làm giấy khai sinh / bao nhiêu", {"name": "ask_fee"}))
        results = []
        try:
            for _ in range(calls):
                action = RemoteAction("action_answer_procedure", config)
                results.append(await action.run(CollectingOutputChannel(),
                                                TemplatedNaturalLanguageGenerator(DOMAIN.responses), tracker, DOMAIN))
                await asyncio.sleep(pause)
        finally:
            await endpoint_sessions.close_sessions()
            await runner.cleanup()
        return results


def test_calls_share_one_connection_and_answer_as_before(installed: None) -> None:
    server = Server()
    results = asyncio.run(server.run(5, {"headers": {"X-Probe": "1"}, "token": "s3cret",
                                         "basic_auth": {"username": "u", "password": "p"}}))
    assert len(set(server.ports)) == 1  # one kept-alive connection for five calls
    for events in results:
        assert [e.as_dict().get("text") for e in events][0] == "Đăng ký khai sinh"
        assert [(e.key, e.value) for e in events[1:]] == [("procedure", "1.001")]
    body = server.bodies[-1]
    assert body["next_action"] == "action_answer_procedure" and body["sender_id"] == "rest:test"
    assert body["tracker"]["latest_message"]["text"] == "lệ phí làm giấy khai sinh / bao nhiêu"
    assert body["domain"] == json.loads(json.dumps(DOMAIN.as_dict()))
    headers = server.headers[-1]
    assert headers["X-Probe"] == "1" and headers["query"] == {"token": "s3cret"}
    assert headers["Authorization"].startswith("Basic ")


def test_without_install_each_call_opens_its_own_connection() -> None:
    server = Server()
    asyncio.run(server.run(3, {}))
    assert len(set(server.ports)) == 3


def test_an_error_status_still_raises(installed: None) -> None:
    with pytest.raises(RasaException, match="Failed to execute custom action") as raised:
        asyncio.run(Server(status=500).run(1, {}))
    assert isinstance(raised.value.__cause__, ClientResponseError) and raised.value.__cause__.status == 500


def test_an_idle_connection_is_dropped_before_the_server_would(installed: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(endpoint_sessions, "KEEPALIVE_S", 0.2)
    server = Server()
    results = asyncio.run(server.run(3, {}, pause=0.6))
    assert len(results) == 3 and len(set(server.ports)) == 3


def test_dumps_matches_json_and_falls_back() -> None:
    value = {"text": "Hồ sơ 000.00.15.H65-240312-0001 / xong", "n": [1, 2.5, None, True], "k": {"a": "\u2028"}}
    assert json.loads(endpoint_sessions.dumps(value)) == value
    assert endpoint_sessions.dumps({"x": math.nan}) in (json.dumps({"x": math.nan}), '{"x":NaN}')
    with pytest.raises(TypeError):
        endpoint_sessions.dumps({"x": object()})


def test_the_domain_is_encoded_once_and_the_body_is_rasas(installed: None) -> None:
    domain = Domain.load("domain")  # the project's whole domain (about 31 kB as JSON)
    tracker = DialogueStateTracker("rest:body", domain.slots)
    tracker.update(UserUttered("lệ phí làm giấy khai sinh / bao nhiêu", {"name": "ask_fee"}))
    action = RemoteAction("action_answer_procedure", EndpointConfig("http://127.0.0.1:9/webhook"))
    ours = action._action_call_format(tracker, domain)
    rasas = endpoint_sessions._originals["format"](action, tracker, domain)
    text = endpoint_sessions.dumps(ours)
    assert json.loads(text) == json.loads(json.dumps(rasas))
    assert list(json.loads(text)) == list(rasas)  # the same fields in the same order
    assert action._action_call_format(tracker, domain)["domain"] is ours["domain"]  # made once
    other = Domain.from_dict({"actions": ["action_answer_procedure"]})
    assert json.loads(endpoint_sessions.dumps(action._action_call_format(tracker, other)))["domain"] == \
        json.loads(json.dumps(other.as_dict()))


def _conversation(domain: Domain) -> DialogueStateTracker:
    """Two citizen turns; the second in a form that just extracted a slot."""
    return DialogueStateTracker.from_events("rest:turn", [
        ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen"),
        UserUttered("xin chao", {"name": "greet"}, input_channel="rest"), ActionExecuted("utter_greet"),
        BotUttered("Xin chào"), ActionExecuted("action_listen"),
        UserUttered("tra cuu ho so 000.00.15.H65-240312-0001", {"name": "check_status"}, input_channel="rest"),
        ActionExecuted("dossier_form"), ActiveLoop("dossier_form"), SlotSet("dossier_code", "000.00.15.H65-240312-0001"),
    ], domain.slots)


def test_an_action_gets_the_current_turn_and_the_rest_of_the_tracker_whole(installed: None) -> None:
    domain = Domain.load("domain")
    tracker = _conversation(domain)
    action = RemoteAction("validate_dossier_form", EndpointConfig("http://127.0.0.1:9/webhook"))
    ours = json.loads(endpoint_sessions.dumps(action._action_call_format(tracker, domain)))
    rasas = json.loads(json.dumps(endpoint_sessions._originals["format"](action, tracker, domain)))
    assert ours["tracker"]["events"] == rasas["tracker"]["events"][6:]  # from the listen before the message
    assert ours["tracker"]["events"][1]["text"].startswith("tra cuu")
    assert {**ours["tracker"], "events": None} == {**rasas["tracker"], "events": None}
    assert list(ours["tracker"]) == list(rasas["tracker"]) and {**ours, "tracker": 0} == {**rasas, "tracker": 0}
    sdk_ours, sdk_rasas = Tracker.from_dict(ours["tracker"]), Tracker.from_dict(rasas["tracker"])
    assert sdk_ours.slots_to_validate() == sdk_rasas.slots_to_validate() == {
        "dossier_code": "000.00.15.H65-240312-0001"}
    assert sdk_ours.get_latest_input_channel() == sdk_rasas.get_latest_input_channel() == "rest"
    assert (sdk_ours.latest_message, sdk_ours.slots, sdk_ours.active_loop) == (
        sdk_rasas.latest_message, sdk_rasas.slots, sdk_rasas.active_loop)


def test_the_handoff_and_a_conversation_without_a_message_get_every_event(installed: None) -> None:
    domain = Domain.load("domain")
    tracker = _conversation(domain)
    handoff = RemoteAction("action_request_human", EndpointConfig("http://127.0.0.1:9/webhook"))
    assert handoff._action_call_format(tracker, domain)["tracker"]["events"] == [e.as_dict() for e in tracker.events]
    start = DialogueStateTracker.from_events("rest:new", [ActionExecuted("action_session_start"), SessionStarted()],
                                             domain.slots)
    assert endpoint_sessions.current_turn(list(start.events)) == list(start.events)
    first = [UserUttered("a", {"name": "greet"}), ActionExecuted("utter_greet")]  # no listen before it
    assert endpoint_sessions.current_turn(first) == first


def _reads_of_tracker_events(tree: ast.AST) -> List[ast.Attribute]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Attribute) and node.attr == "events"
            and isinstance(node.value, ast.Name) and node.value.id == "tracker"]


def test_every_action_reading_the_events_gets_them_all() -> None:
    """An action that reads ``tracker.events`` is listed in FULL_HISTORY_ACTIONS (else it sees one turn)."""
    readers = set()
    for path in sorted(Path("actions").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        outside = {id(node) for node in _reads_of_tracker_events(tree)}
        for cls in (node for node in tree.body if isinstance(node, ast.ClassDef)):
            reads = _reads_of_tracker_events(cls)
            outside -= {id(node) for node in reads}
            names = [node.value for node in ast.walk(cls) if isinstance(node, ast.FunctionDef) and node.name == "name"
                     for node in ast.walk(node) if isinstance(node, ast.Constant) and isinstance(node.value, str)
                     and node.value.startswith(("action_", "validate_"))]
            if reads:
                readers |= set(names) or {f"{path}:{cls.name}"}
        assert not outside, f"{path} reads tracker.events outside an action class"
    assert readers and readers <= endpoint_sessions.FULL_HISTORY_ACTIONS
