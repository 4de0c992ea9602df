"""Fuzzing the public routes of a real Sanic app: never a 5xx, never a traceback in the body.

Random JSON, mutated valid Telegram updates / Zalo events / REST messages / dossier pushes,
deep nesting, odd unicode, wrong types, missing / forged signatures and secret headers,
and huge bodies go to ``/webhooks/{telegram,zalo,rest}/webhook`` and
``/webhooks/onestop/dossiers``, served exactly as ``rasa run`` serves them (in a thread of
its own, so Hypothesis drives it with plain blocking calls). Bounded: a few hundred
examples in all, well under a minute.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import json
import threading
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.dossiers.demo import demo_dossiers
from integrations.onestop.push import OneStopPushInput
from integrations.rest import DevRestInput
from tests.channels.conftest import WEBHOOK_SECRET, seed_zalo_tokens
from tests.channels.support import EchoAgent, serve_channels
from tests.channels.test_telegram import make_channel as make_telegram
from tests.channels.test_zalo import make_channel as make_zalo
from tests.fakes import telegram_api as tgf
from tests.fakes import zalo_api as zf

PUSH_TOKEN = "push-token-for-fuzzing-0123456789abcdef"  # noqa: S105 - a test credential
FUZZ = settings(max_examples=200, deadline=5000, database=None, suppress_health_check=list(HealthCheck))
RECORD = demo_dossiers(dt.date(2026, 3, 12))[0].to_json()

# -- strategies -----------------------------------------------------------------------------------

odd_text = st.text(st.characters(codec="utf-8"), max_size=60) | st.sampled_from([
    "", " ", "\u0000", "\u202e\u200b", "đăng ký khai sinh", "dang ky khai sinh", "Xin chào 😀🙏", "a" * 5000,
    "/greet", '/inform{"dossier_code": "000.00.15.H65-240312-0001"}', "\ufeff\u0301\u0300", "<script>",
    "\ud800", "x\udfffy"])
scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats(allow_nan=False, allow_infinity=False) | odd_text)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(odd_text, inner, max_size=4), max_leaves=20)


def _paths(obj: Any, prefix: Tuple[Any, ...] = ()) -> Iterator[Tuple[Any, ...]]:
    if prefix:
        yield prefix
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for key, value in items:
        yield from _paths(value, prefix + (key,))


@st.composite
def mutated(draw: Callable[..., Any], build: Callable[[], Any]) -> Any:
    """A valid payload with 1-3 random edits: a value replaced, a key deleted, a value wrapped."""
    doc = copy.deepcopy(build())
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(doc))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "delete", "wrap", "deep"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "wrap":
            parent[path[-1]] = draw(st.sampled_from([[parent[path[-1]]], {"x": parent[path[-1]]}]))
        elif action == "deep":
            parent[path[-1]] = json.loads("[" * 60 + "]" * 60)
        else:
            parent[path[-1]] = draw(json_values)
    return doc


def deep(prefix: bytes = b"", suffix: bytes = b"") -> st.SearchStrategy[bytes]:
    return st.integers(1, 120_000).map(lambda n: prefix + b"[" * n + suffix)


def encoded(values: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    """JSON bytes, ASCII-escaped or raw UTF-8 (lone surrogates become invalid UTF-8)."""
    return st.booleans().flatmap(lambda ascii_: values.map(
        lambda v: json.dumps(v, ensure_ascii=ascii_).encode("utf-8", "surrogatepass")))


def bodies(valid: st.SearchStrategy[Any], huge: bytes) -> st.SearchStrategy[bytes]:
    """Mostly (mutated) valid payloads; random JSON, deep nesting, raw bytes and a huge body too."""
    kinds = st.sampled_from(["valid"] * 6 + ["json", "deep", "deep-in-object", "binary", "huge"])
    return kinds.flatmap(lambda kind: {
        "valid": encoded(valid), "json": encoded(json_values), "deep": deep(), "deep-in-object": deep(b'{"a": ', b"}"),
        "binary": st.binary(max_size=300), "huge": st.just(huge)}[kind])


telegram_updates = st.sampled_from([
    lambda: tgf.text_update("xin chào"), lambda: tgf.text_update("/start"), lambda: tgf.photo_update(),
    lambda: tgf.callback_update("=/affirm"), lambda: tgf.callback_update("#AAAAAAAAAAAAAAAA"),
    lambda: tgf.text_update("còn lệ phí", user_id=9, chat_id=-1001, reply_to={"message_id": 1}),
    lambda: tgf.mention_update("thủ tục", tgf.DEFAULT_USERNAME, user_id=5, group_id=-1002),
]).flatmap(lambda build: mutated(build) | odd_text.map(lambda t: tgf.text_update(t)))
zalo_events = st.sampled_from([
    lambda: zf.text_event("8001", "xin chào"), lambda: zf.image_event("8001"), lambda: zf.follow_event("8001"),
    lambda: zf.follow_event("8001", unfollow=True), lambda: zf.sticker_event("8002"),
]).flatmap(lambda build: mutated(build) | odd_text.map(lambda t: zf.text_event("8003", t)))
rest_messages = st.one_of(
    st.fixed_dictionaries({"sender": st.sampled_from(["fuzz", "telegram:111", "zalo:1", "0"]) | odd_text,
                           "message": odd_text}),
    mutated(lambda: {"sender": "fuzz", "message": "xin chào", "input_channel": "telegram"}),
    st.fixed_dictionaries({"sender": json_values, "message": json_values}))
pushes = mutated(lambda: RECORD) | mutated(lambda: [RECORD, RECORD]) | json_values.map(lambda v: {**RECORD, "x": v})

ascii_secret = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40)

# -- the server -----------------------------------------------------------------------------------


class ServerThread:
    """The channels on a Sanic app in a thread with its own event loop."""

    def __init__(self, channels: List[Any]) -> None:
        self.channels, self.agent = channels, EchoAgent()
        self.loop = asyncio.new_event_loop()
        self.base: Optional[str] = None
        self._ready, self._stop = threading.Event(), None  # type: ignore[var-annotated]
        self._thread = threading.Thread(target=self.loop.run_until_complete, args=(self._main(),), daemon=True)

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        async with serve_channels(self.channels, self.agent) as base:
            self.base = base
            self._ready.set()
            await self._stop.wait()
            for channel in self.channels:
                if hasattr(channel, "tasks"):
                    await channel.tasks.drain(timeout=10)

    def __enter__(self) -> "ServerThread":
        self._thread.start()
        assert self._ready.wait(30), "server did not start"
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)


@pytest.fixture
def server(sqlite_url, tg_env, zalo_env) -> Iterator[httpx.Client]:
    seed_zalo_tokens(sqlite_url)
    channels = [make_telegram(), make_zalo(), DevRestInput.from_credentials(None), OneStopPushInput(PUSH_TOKEN)]
    with ServerThread(channels) as running, httpx.Client(base_url=f"{running.base}/webhooks", timeout=30) as http:
        yield http


def check(reply: httpx.Response) -> None:
    assert reply.status_code < 500, (reply.status_code, reply.text[:300])
    assert "Traceback" not in reply.text and 'File "' not in reply.text, reply.text[:300]


# -- the routes -----------------------------------------------------------------------------------


def test_telegram_webhook(server):
    huge = json.dumps(tgf.text_update("a" * 300_000)).encode()

    @FUZZ
    @given(body=bodies(telegram_updates, huge),
           secret=st.sampled_from([WEBHOOK_SECRET] * 4 + [None, ""]) | ascii_secret)
    def run(body: bytes, secret: Optional[str]) -> None:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        check(server.post("/telegram/webhook", content=body, headers=headers))

    run()


def test_zalo_webhook(server):
    huge = json.dumps(zf.text_event("8001", "a" * 300_000)).encode()

    @FUZZ
    @given(body=bodies(zalo_events, huge),
           signature=st.sampled_from(["valid"] * 5 + ["bare", "forged", "missing", "now", "stale", "junk"]))
    def run(body: bytes, signature: str) -> None:
        try:
            event_ts = str(json.loads(body).get("timestamp"))
        except (ValueError, AttributeError, RecursionError):
            event_ts = ""
        ts = {"now": zf.now_ms(), "stale": "1", "junk": "abc"}.get(signature, event_ts)
        headers = {"Content-Type": "application/json"}
        mac = zf.zalo_signature(zf.APP_ID, body, ts, zf.OA_SECRET_KEY)
        if signature != "missing":
            headers["X-ZEvent-Signature"] = {"bare": mac[4:], "forged": "mac=" + "ab" * 32}.get(signature, mac)
        check(server.post("/zalo/webhook", content=body, headers=headers))

    run()


def test_rest_webhook(server):
    huge = json.dumps({"sender": "fuzz", "message": "x" * 900_000}).encode()

    @FUZZ
    @given(body=bodies(rest_messages, huge), stream=st.booleans())
    def run(body: bytes, stream: bool) -> None:
        check(server.post("/rest/webhook" + ("?stream=true" if stream else ""), content=body,
                          headers={"Content-Type": "application/json"}))

    run()


def test_onestop_push(server):
    huge = json.dumps({**RECORD, "note": "x" * 1_100_000}).encode()

    @FUZZ
    @given(body=bodies(pushes, huge),
           auth=st.sampled_from([f"Bearer {PUSH_TOKEN}"] * 4 + [None]) | ascii_secret.map(lambda s: f"Bearer {s}"))
    def run(body: bytes, auth: Optional[str]) -> None:
        headers: Dict[str, str] = {"Content-Type": "application/json"}
        if auth is not None:
            headers["Authorization"] = auth
        check(server.post("/onestop/dossiers", content=body, headers=headers))

    run()
