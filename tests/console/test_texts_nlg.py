"""The console's NLG endpoint (auth, Rasa's protocol, bad bodies) and the fallback NLG Rasa runs."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.cli.processes import free_port
from bot.settings import ROOT
from integrations.nlg import ConsoleNLG
from tests.support.console import login_client, running_console

TOKEN = "nlg-token-for-tests-0123456789abcdef"  # noqa: S105 - a scratch console's token
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def nlg_console(console_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_console(console_db, Path(tmp_path_factory.mktemp("nlg-console")),
                         {"CONSOLE_NLG_TOKEN": TOKEN}) as url:
        yield url


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain"))


def _body(response: str, channel: str = "rest", slots=None, arguments=None) -> dict:
    return {"response": response, "arguments": arguments or {}, "channel": {"name": channel},
            "tracker": {"sender_id": "rest:t1", "slots": slots or {}, "events": []}}


def test_auth_is_checked_first(nlg_console: str) -> None:
    url = f"{nlg_console}/console/nlg"
    assert httpx.post(url, json=_body("utter_greet")).status_code == 401
    assert httpx.post(url, json=_body("utter_greet"), headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert httpx.post(url, json=_body("utter_greet"), headers={"Authorization": TOKEN}).status_code == 401
    assert httpx.post(url, content=b"x" * 3_000_000, headers={"Authorization": "Bearer no"}).status_code == 401


def test_domain_text_until_edited_then_the_edit(nlg_console: str, domain: Domain) -> None:
    url = f"{nlg_console}/console/nlg"
    greet = httpx.post(url, json=_body("utter_greet"), headers=AUTH)
    assert greet.status_code == 200
    assert greet.json()["text"] == domain.responses["utter_greet"][0]["text"]
    assert greet.json()["buttons"] == domain.responses["utter_greet"][0]["buttons"]
    editor = login_client(nlg_console, "editor1")
    saved = editor.put("/console/api/texts/utter_procedure_duration/0/telegram",
                       json={"text": "⏱ {procedure_name} mất {durations} (Telegram)"})
    assert saved.status_code == 200, saved.text
    slots = {"procedure_name": "Khai sinh", "durations": "1 ngày"}
    on_telegram = httpx.post(url, json=_body("utter_procedure_duration", "telegram", slots), headers=AUTH).json()
    assert on_telegram == {"text": "⏱ Khai sinh mất 1 ngày (Telegram)"}
    from_arguments = httpx.post(url, json=_body("utter_procedure_duration", "telegram", slots,
                                                {"durations": "2 ngày"}), headers=AUTH).json()
    assert from_arguments["text"] == "⏱ Khai sinh mất 2 ngày (Telegram)"
    elsewhere = httpx.post(url, json=_body("utter_procedure_duration", "collector", slots), headers=AUTH).json()
    assert elsewhere["text"].startswith("⏱ Thời hạn giải quyết — Khai sinh")


@pytest.mark.parametrize(("content", "status"), [
    (b"not json", 400),
    (b"[1, 2]", 400),
    (b'{"response": 5}', 422),
    (b'{"response": ""}', 422),
    (json.dumps({"response": "x" * 500}).encode(), 422),
    (b'{"response": "utter_greet", "arguments": [1]}', 422),
    (b'{"response": "utter_greet", "tracker": {"slots": "x"}}', 422),
    (b'{"response": "utter_greet", "channel": {"name": 5}}', 422),
    (b'{"response": "utter_greet", "arguments": {"a": NaN}}', 400),
    (b"[" * 100_000 + b"]" * 100_000, 400),
    (b"\xff\xfe", 400),
    (b'{"response": "utter_no_such_thing"}', 404),
    (b"{" + b'"a": "' + b"x" * 2_100_000 + b'"}', 413),
])
def test_bad_bodies_are_4xx(nlg_console: str, content: bytes, status: int) -> None:
    response = httpx.post(f"{nlg_console}/console/nlg", content=content, headers=AUTH, timeout=30)
    assert response.status_code == status, response.text[:200]


def _tracker(domain: Domain) -> DialogueStateTracker:
    return DialogueStateTracker("rest:t2", domain.slots)


def _nlg(url: str, domain: Domain, token: str = TOKEN, timeout: float = 2.0) -> ConsoleNLG:
    return ConsoleNLG(EndpointConfig(url=url, token=token, timeout=timeout), domain)


async def test_fallback_to_the_domain_when_the_console_is_down(domain: Domain) -> None:
    port = free_port()  # nothing listens there
    nlg = _nlg(f"http://127.0.0.1:{port}/console/nlg", domain)
    answer = await nlg.generate("utter_greet", _tracker(domain), "rest", domain_responses=domain.responses)
    assert answer["text"] == domain.responses["utter_greet"][0]["text"]
    with socket.socket() as sock:  # during the pause the console is not even asked
        sock.bind(("127.0.0.1", port))
        sock.listen()
        sock.settimeout(0.3)
        await nlg.generate("utter_goodbye", _tracker(domain), "rest")
        with pytest.raises(socket.timeout):
            sock.accept()


async def test_fallback_when_the_console_is_slow(domain: Domain) -> None:
    class Slow(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            time.sleep(3)
            try:
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b'{"text": "too late"}')
            except OSError:  # the client gave up first, as it should
                pass

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        nlg = _nlg(f"http://127.0.0.1:{server.server_port}/console/nlg", domain, timeout=0.5)
        started = time.monotonic()
        answer = await nlg.generate("utter_greet", _tracker(domain), "rest")
        assert time.monotonic() - started < 2.5
        assert answer["text"] == domain.responses["utter_greet"][0]["text"]
    finally:
        server.shutdown()
        server.server_close()


async def test_console_answer_and_refused_token(nlg_console: str, domain: Domain) -> None:
    editor = login_client(nlg_console, "editor1")
    assert editor.put("/console/api/texts/utter_you_are_welcome/0/default",
                      json={"text": "Không có gì, bạn cứ hỏi tiếp nhé!"}).status_code == 200
    url = f"{nlg_console}/console/nlg"
    tracker = _tracker(domain)
    live = await _nlg(url, domain).generate("utter_you_are_welcome", tracker, "rest",
                                            domain_responses=domain.responses)
    assert live["text"] == "Không có gì, bạn cứ hỏi tiếp nhé!"
    refused = await _nlg(url, domain, token="wrong-token").generate("utter_you_are_welcome", tracker, "rest")
    assert refused["text"] == domain.responses["utter_you_are_welcome"][0]["text"]
    unknown = await _nlg(url, domain).generate("utter_not_in_any_domain", tracker, "rest")
    assert unknown is None  # like Rasa's own generator
    await asyncio.sleep(0)
