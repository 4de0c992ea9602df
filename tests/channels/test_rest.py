"""The development REST channel: server-set ``rest:`` conversation ids and validated bodies."""

from __future__ import annotations

import json

import httpx
import pytest

from integrations.rest import MAX_REST_MESSAGE_CHARS, DevRestInput
from tests.channels.support import EchoAgent, serve_channels


@pytest.fixture
async def rest(sqlite_url):
    """(http client posting to /webhooks/rest/webhook, agent)."""
    agent = EchoAgent()
    async with serve_channels([DevRestInput.from_credentials(None)], agent) as base, \
            httpx.AsyncClient(base_url=f"{base}/webhooks/rest", timeout=10) as http:
        yield http, agent


async def test_sender_is_namespaced_and_channel_fixed(rest):
    http, agent = rest
    body = {"sender": "telegram:111", "message": "xin chào", "input_channel": "telegram",
            "metadata": {"telegram": {"chat_id": 111}, "verified_code": "000.00.15.H65-240312-0001"}}
    reply = await http.post("/webhook", json=body)
    assert reply.status_code == 200
    assert reply.json() == [{"recipient_id": "rest:telegram:111", "text": "Bạn vừa hỏi: xin chào"}]
    [message] = agent.received
    assert (message.sender_id, message.input_channel, message.metadata) == ("rest:telegram:111", "rest", None)
    assert (await http.get("/")).json() == {"status": "ok"}


async def test_stream_is_not_offered(rest):
    http, agent = rest
    reply = await http.post("/webhook?stream=true", json={"sender": "u1", "message": "a"})
    assert reply.headers["content-type"].startswith("application/json")
    assert reply.json()[0]["text"] == "Bạn vừa hỏi: a"


@pytest.mark.parametrize("raw, reason", [
    (b"[1, 2]", "not an object"),
    (b'["sender", "message"]', "not an object"),
    (b"{garbage", "malformed JSON"),
    (b"", "malformed JSON"),
    (b"\xff\xfe", "malformed JSON"),
    (b"[" * 100_000, "nested deeper"),
    (b'{"sender": "u", "message": "x", "deep": ' + b"[" * 80 + b"]" * 80 + b"}", "nested deeper"),
    (json.dumps({"message": "xin chào"}).encode(), "sender"),
    (json.dumps({"sender": "", "message": "xin chào"}).encode(), "sender"),
    (json.dumps({"sender": True, "message": "xin chào"}).encode(), "sender"),
    (json.dumps({"sender": {"id": 1}, "message": "xin chào"}).encode(), "sender"),
    (json.dumps({"sender": "có dấu cách", "message": "xin chào"}).encode(), "invalid sender"),
    (json.dumps({"sender": "x" * 500, "message": "xin chào"}).encode(), "invalid sender"),
    (json.dumps({"sender": "u1"}).encode(), "message"),
    (json.dumps({"sender": "u1", "message": 42}).encode(), "message"),
    (json.dumps({"sender": "u1", "message": ["a"]}).encode(), "message"),
    (b'{"sender": "u1", "message": NaN}', "malformed JSON"),
])
async def test_bad_bodies_get_400_with_a_short_json_error(rest, raw, reason):
    http, agent = rest
    reply = await http.post("/webhook", content=raw, headers={"Content-Type": "application/json"})
    assert reply.status_code == 400
    assert reason in reply.json()["error"] and len(reply.text) < 300
    assert agent.received == []


async def test_oversized_bodies_and_messages_get_413_and_are_not_stored(rest):
    http, agent = rest
    huge = await http.post("/webhook", json={"sender": "u1", "message": "x" * 900_000})
    assert huge.status_code == 413 and "exceeds" in huge.json()["error"]
    long = await http.post("/webhook", json={"sender": "u1", "message": "x" * (MAX_REST_MESSAGE_CHARS + 1)})
    assert long.status_code == 413 and "longer than" in long.json()["error"]
    assert agent.received == []
    fits = await http.post("/webhook", json={"sender": "u1", "message": "đ" * MAX_REST_MESSAGE_CHARS})
    assert fits.status_code == 200 and len(agent.received) == 1


async def test_limits_from_credentials_and_settings(monkeypatch):
    monkeypatch.setenv("MAX_WEBHOOK_BYTES", "5000")
    from bot.settings import get_settings

    get_settings.cache_clear()
    channel = DevRestInput.from_credentials(None)
    assert (channel.max_body_bytes, channel.max_message_chars) == (5000, MAX_REST_MESSAGE_CHARS)
    assert DevRestInput.from_credentials({"max_message_chars": 10}).max_message_chars == 10
    assert DevRestInput.name() == "rest"


async def test_a_failing_turn_answers_what_was_collected(rest, caplog):
    http, agent = rest

    async def broken(message):
        await message.output_channel.send_text_message(message.sender_id, "một phần")
        raise RuntimeError("kaput")

    agent.handle_message = broken
    reply = await http.post("/webhook", json={"sender": "u1", "message": "x"})
    assert reply.status_code == 200 and [m["text"] for m in reply.json()] == ["một phần"]
    assert "Traceback" not in reply.text and "rest message of rest:u1 failed" in caplog.text
