"""Hostile bodies get a 4xx, never a 500: deep nesting, forged signatures, wrongly typed dossier fields.

Before the fix, 100,000 ``[`` made ``json.loads`` raise ``RecursionError`` (HTTP 500) on the
Zalo webhook (parsed before its signature was checked), the Telegram webhook and the
one-stop push endpoint, and wrongly typed dossier fields reached the database (503, or
500 for an integer SQLite cannot hold).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Dict

import httpx
import pytest
from sqlalchemy import func, select

from bot.db.models import Dossier
from bot.db.session import session_scope
from bot.dossiers.demo import demo_dossiers
from integrations.http import MAX_JSON_DEPTH, WebhookRejected, json_depth, parse_json, parse_json_object
from integrations.onestop.push import OneStopPushInput
from tests.channels.conftest import WEBHOOK_SECRET, seed_zalo_tokens
from tests.channels.support import EchoAgent, serve_channels
from tests.channels.test_telegram import make_channel as make_telegram
from tests.channels.test_zalo import make_channel as make_zalo
from tests.fakes.zalo_api import now_ms, signed, text_event

DEEP = b"[" * 100_000
PUSH_TOKEN = "push-token-for-tests-0123456789abcdef"  # noqa: S105 - a test credential

# -- the parser -----------------------------------------------------------------------------------


def test_depth_is_measured_outside_strings_and_limited():
    assert json_depth(b'{"a": [1, {"b": []}]}') == 4
    assert json_depth(b'{"a": "[[[[{{{{ \\" [[["}') == 1
    assert json_depth(DEEP, limit=MAX_JSON_DEPTH) == MAX_JSON_DEPTH + 1  # stops counting early
    ok = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH
    assert parse_json(ok) is not None
    for body in (DEEP, b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1), b'{"a": ' + DEEP + b"}"):
        with pytest.raises(WebhookRejected) as info:
            parse_json(body)
        assert info.value.status == 400 and "nested" in info.value.reason
    for body in (b"NaN", b'{"fee": Infinity}', b"\xff", b"1" * 5000):
        with pytest.raises(WebhookRejected) as info:
            parse_json_object(body)
        assert info.value.status == 400


# -- Zalo: signature before parsing ---------------------------------------------------------------


@pytest.fixture
async def zalo_url(sqlite_url, zalo_env):
    seed_zalo_tokens(sqlite_url)
    agent, channel = EchoAgent(), make_zalo()
    async with serve_channels([channel], agent) as base:
        yield f"{base}/webhooks/zalo/webhook", agent, channel


def deep_event(timestamp: str) -> bytes:
    head = json.dumps(text_event("u1", "x", timestamp=timestamp))[:-1].encode()
    return head + b', "extra": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


async def test_zalo_deep_nesting_is_400_or_401_never_500(zalo_url):
    url, agent, channel = zalo_url
    async with httpx.AsyncClient(timeout=10) as http:
        unsigned = await http.post(url, content=DEEP, headers={"X-ZEvent-Signature": "mac=00"})
        assert unsigned.status_code == 400  # no timestamp in the raw bytes
        timestamp = now_ms()
        body = deep_event(timestamp)
        forged = await http.post(url, content=body, headers={"X-ZEvent-Signature": "mac=" + "0" * 64})
        assert forged.status_code == 401  # refused before parsing
        _, headers = signed({"timestamp": timestamp}, body=body)
        genuine = await http.post(url, content=body, headers=headers)
        assert genuine.status_code == 400 and "nested" in genuine.json()["error"]
        await channel.tasks.drain()
    assert agent.received == []


async def test_zalo_timestamp_is_the_signed_top_level_one(zalo_url):
    url, agent, channel = zalo_url
    async with httpx.AsyncClient(timeout=10) as http:
        # a nested "timestamp" before the real one does not confuse the check
        event = {"message_meta": {"timestamp": "1"}, **text_event("u7", "lệ phí khai sinh")}
        body, headers = signed(event)
        assert (await http.post(url, content=body, headers=headers)).json()["status"] == "accepted"
        # signed with a nested timestamp while the event has none: refused
        nested = text_event("u7", "x")
        ts = nested.pop("timestamp")
        nested["message"]["meta"] = {"timestamp": ts}
        body, headers = signed({**nested, "timestamp": ts}, body=json.dumps(nested).encode())
        reply = await http.post(url, content=body, headers=headers)
        assert reply.status_code == 400 and "signed" in reply.json()["error"]
        await channel.tasks.drain()
    assert agent.texts() == ["lệ phí khai sinh"]


async def test_zalo_user_id_that_cannot_name_a_conversation_is_400(zalo_url):
    url, agent, channel = zalo_url
    async with httpx.AsyncClient(timeout=10) as http:
        body, headers = signed(text_event("có dấu cách", "x"))
        assert (await http.post(url, content=body, headers=headers)).status_code == 400


# -- Telegram -------------------------------------------------------------------------------------


async def test_telegram_deep_nesting_is_400(sqlite_url, tg_env):
    agent, channel = EchoAgent(), make_telegram()
    async with serve_channels([channel], agent) as base, httpx.AsyncClient(timeout=10) as http:
        headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET, "Content-Type": "application/json"}
        url = f"{base}/webhooks/telegram/webhook"
        for body in (DEEP, b'{"update_id": 5, "message": ' + DEEP + b"}"):
            reply = await http.post(url, content=body, headers=headers)
            assert reply.status_code == 400 and "nested" in reply.json()["error"]
        assert (await http.post(url, content=DEEP, headers={"Content-Type": "application/json"})).status_code == 401
    assert agent.received == []


# -- one-stop push --------------------------------------------------------------------------------

RECORD = demo_dossiers(dt.date(2026, 3, 12))[0].to_json()
AUTH = {"Authorization": f"Bearer {PUSH_TOKEN}", "Content-Type": "application/json"}


@pytest.fixture
async def push(db_url):
    async with serve_channels([OneStopPushInput(PUSH_TOKEN)], EchoAgent()) as base, \
            httpx.AsyncClient(base_url=f"{base}/webhooks/onestop", timeout=10) as http:
        yield http, db_url


def stored(url: str) -> int:
    with session_scope(url) as session:
        return session.execute(select(func.count(Dossier.id))).scalar_one()


async def test_push_deep_nesting_is_400(push):
    http, url = push
    for body in (DEEP, b'{"code": ' + DEEP + b"}"):
        reply = await http.post("/dossiers", content=body, headers=AUTH)
        assert reply.status_code == 400 and "nested" in reply.json()["error"]
    assert (await http.post("/dossiers", content=b"[NaN]", headers=AUTH)).json() == {"error": "malformed JSON"}
    assert stored(url) == 0


@pytest.mark.parametrize("field, value", [
    ("applicant_name", {"họ": "Nguyễn", "tên": "Lan"}),
    ("note", ["ghi chú"]),
    ("agency_name", 42),
    ("procedure_name", {"vi": "Đăng ký khai sinh"}),
    ("procedure_code", "1.001193" * 5),
    ("applicant_phone", "0" * 30),
    ("fee_due_vnd", 10**12),
    ("fee_due_vnd", 10**20),
    ("fee_due_vnd", -5),
    ("fee_due_vnd", "năm chục"),
    ("fee_due_vnd", True),
    ("missing_documents", [{"name": "CCCD"}]),
    ("received_at", 1710000000),
    ("appointment_date", "13/03/2026"),
])
async def test_push_wrongly_typed_field_is_422_naming_it(push, field: str, value: Any):
    http, url = push
    reply = await http.post("/dossiers", json={**RECORD, field: value}, headers=AUTH)
    assert reply.status_code == 422, reply.text
    assert reply.json()["field"] == field and field in reply.json()["error"]
    in_list = await http.post("/dossiers", json=[RECORD, {**RECORD, field: value}], headers=AUTH)
    assert in_list.status_code == 422 and in_list.json()["error"].startswith("dossier #2: ")
    assert stored(url) == 0


async def test_push_accepts_the_types_the_one_stop_system_sends(push):
    http, url = push
    item: Dict[str, Any] = {**RECORD, "fee_due_vnd": "150000", "missing_documents": ["Bản sao CCCD"],
                            "note": None, "received_at": "2026-03-12T08:30:00", "unknown_field": {"x": [1]}}
    reply = await http.post("/dossiers", json=item, headers=AUTH)
    assert reply.status_code == 200, reply.text
    assert stored(url) == 1
