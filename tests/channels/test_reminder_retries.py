"""The channel clients repeat a send only when it certainly did not reach the platform.

Against loopback fakes that drop the connection after reading the request, hold it
past the client's read timeout, or answer 5xx: exactly one POST may reach the fake,
and the error says ``maybe_delivered``. Connect / pool failures and 429s are retried.
"""

from __future__ import annotations

import socket
from typing import Any, Callable, List, Optional

import httpx
import pytest
from telegram.error import NetworkError, RetryAfter, TimedOut

from bot.db.session import get_engine, upgrade
from integrations.errors import TransientChannelError
from integrations.telegram.client import TelegramSender
from integrations.zalo.client import ZaloClient
from integrations.zalo.tokens import ZaloTokenManager
from tests.fakes import zalo_api
from tests.fakes._http import Failure, Recorded
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.zalo_api import PATH_CS, PATH_ZNS, FakeZaloAPI

pytestmark = pytest.mark.usefixtures("reminder_env")

CHAT = 4242


def dead_port() -> int:
    """A loopback port nobody listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def is_send(rec: Recorded) -> bool:
    return rec.path.endswith("/sendMessage")


@pytest.fixture
def tg():
    with FakeTelegramAPI() as fake:
        yield fake


def telegram_sender(api_base: str, token: str, **kw: Any) -> TelegramSender:
    defaults = {"chat_interval": 0.0, "group_interval": 0.0, "global_rate": 1000.0, "retry_backoff": 0.01,
                "max_retries": 3, "timeout": 5.0}
    return TelegramSender(token, api_base=api_base, **{**defaults, **kw})


# -- Telegram: PTB errors and their causes ---------------------------------------------------------


def _error(error: Exception, cause: Optional[BaseException]) -> Exception:
    error.__cause__ = cause
    return error


CASES = [  # (name, error raised by the first attempt, retried?)
    ("connect error", lambda: _error(NetworkError("httpx.ConnectError: refused"), httpx.ConnectError("refused")),
     True),
    ("connect timeout", lambda: _error(TimedOut(), httpx.ConnectTimeout("slow connect")), True),
    ("pool timeout", lambda: _error(TimedOut("Pool timeout"), httpx.PoolTimeout("pool full")), True),
    ("flood control", lambda: RetryAfter(0.01), True),
    ("read timeout", lambda: _error(TimedOut(), httpx.ReadTimeout("no answer")), False),
    ("write timeout", lambda: _error(TimedOut(), httpx.WriteTimeout("stuck")), False),
    ("read error", lambda: _error(NetworkError("httpx.ReadError: reset"), httpx.ReadError("reset")), False),
    ("write error", lambda: _error(NetworkError("httpx.WriteError: broken"), httpx.WriteError("broken")), False),
    ("dropped", lambda: _error(NetworkError("httpx.RemoteProtocolError"), httpx.RemoteProtocolError("closed")),
     False),
    ("http 500", lambda: NetworkError("Internal Server Error"), False),
    ("unknown", lambda: _error(NetworkError("Unknown error in HTTP implementation"), RuntimeError("?")), False),
]


@pytest.mark.parametrize("name, make_error, retried", CASES, ids=[case[0] for case in CASES])
async def test_telegram_call_retries_only_what_was_not_sent(tg: FakeTelegramAPI, name: str,
                                                            make_error: Callable[[], Exception], retried: bool):
    sender = telegram_sender(tg.base_url, tg.token)
    calls: List[int] = []

    async def call(_chat: Any) -> str:
        calls.append(1)
        if len(calls) == 1:
            raise make_error()
        return "ok"

    if retried:
        assert await sender._call(CHAT, call) == "ok"
        assert len(calls) == 2
    else:
        with pytest.raises(TransientChannelError) as info:
            await sender._call(CHAT, call)
        assert info.value.maybe_delivered is True and len(calls) == 1
        calls.clear()  # an idempotent call (getMe, setWebhook ...) may be repeated
        assert await sender._call(None, call, throttled=False, idempotent=True) == "ok" and len(calls) == 2
    await sender.close()


# -- Telegram: a real HTTP server ------------------------------------------------------------------


async def test_telegram_connection_dropped_after_the_request_is_sent_once(tg: FakeTelegramAPI):
    sender = telegram_sender(tg.base_url, tg.token)
    tg.drop_next(5, match=is_send)  # every attempt would be read by Telegram, then the connection breaks
    with pytest.raises(TransientChannelError) as info:
        await sender.send_text(CHAT, "Hồ sơ của Ông/Bà đã có kết quả")
    assert len(tg.api_calls("sendMessage")) == 1
    assert info.value.maybe_delivered is True
    tg.clear_failures()
    await sender.close()


async def test_telegram_slow_answer_is_sent_once(tg: FakeTelegramAPI):
    sender = telegram_sender(tg.base_url, tg.token, timeout=0.3)
    release = tg.hold_next(1, match=is_send)  # Telegram reads the request and does not answer in time
    try:
        with pytest.raises(TransientChannelError) as info:
            await sender.send_text(CHAT, "Hồ sơ của Ông/Bà đã có kết quả")
    finally:
        release.set()
    assert info.value.maybe_delivered is True
    assert len(tg.api_calls("sendMessage")) == 1
    await sender.close()


async def test_telegram_5xx_is_sent_once_but_idempotent_calls_are_retried(tg: FakeTelegramAPI):
    sender = telegram_sender(tg.base_url, tg.token)
    tg.fail_next(3, status=502, methods=["sendMessage"])
    with pytest.raises(TransientChannelError) as info:
        await sender.send_text(CHAT, "xin chào")
    assert info.value.maybe_delivered is True and len(tg.api_calls("sendMessage")) == 1
    tg.reset()
    tg.fail_next(2, status=500, methods=["getWebhookInfo"])
    assert (await sender.webhook_info())["max_connections"] == 40
    assert [c.status for c in tg.api_calls("getWebhookInfo")] == [500, 500, 200]
    await sender.close()


async def test_telegram_connection_refused_is_retried_and_reported_as_not_sent(tg: FakeTelegramAPI):
    sender = telegram_sender(f"http://127.0.0.1:{dead_port()}", tg.token, max_retries=2)
    with pytest.raises(TransientChannelError) as info:
        await sender.send_text(CHAT, "xin chào")
    assert info.value.maybe_delivered is False
    await sender.close()


async def test_telegram_a_later_part_failing_makes_the_message_ambiguous(tg: FakeTelegramAPI):
    sender = telegram_sender(tg.base_url, tg.token)
    flood = {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 120",
             "parameters": {"retry_after": 120}}
    tg.queue_failure(Failure(429, flood, match=lambda r: is_send(r) and r.params.get("text", "").startswith("B")))
    with pytest.raises(TransientChannelError) as info:
        await sender.send_text(CHAT, "A" * 4000 + "\n\n" + "B" * 200)
    assert info.value.maybe_delivered is True and "after 1 of 2 parts" in str(info.value)
    assert [c.status for c in tg.api_calls("sendMessage")] == [200, 429]
    await sender.close()


# -- Zalo -------------------------------------------------------------------------------------------


@pytest.fixture
def zalo():
    with FakeZaloAPI() as fake:
        yield fake


@pytest.fixture
def zalo_client_factory(tmp_path, zalo: FakeZaloAPI):
    url = f"sqlite:///{tmp_path / 'zalo.db'}"
    upgrade(url)
    clients: List[ZaloClient] = []

    def make(api_base: Optional[str] = None, **kw: Any) -> ZaloClient:
        tokens = ZaloTokenManager(app_id=zalo_api.APP_ID, app_secret=zalo_api.APP_SECRET,
                                  oauth_base=zalo.base_url, seed_access_token="at-0", seed_refresh_token="rt-0",
                                  database_url=url)
        options = {"timeout": 5.0, "max_retries": 2, "retry_backoff": 0.01, "database_url": url, **kw}
        client = ZaloClient(tokens, api_base=api_base or zalo.base_url, zns_base=api_base or zalo.base_url,
                            **options)
        clients.append(client)
        return client

    yield make
    get_engine(url).dispose()


async def test_zalo_dropped_connection_and_5xx_are_sent_once(zalo: FakeZaloAPI, zalo_client_factory):
    client = zalo_client_factory()
    zalo.drop_next(1, match=lambda r: r.path == PATH_CS)
    with pytest.raises(TransientChannelError) as info:
        await client.send_text("zu-1", "Hồ sơ đã có kết quả")
    assert info.value.maybe_delivered is True and len(zalo.calls(lambda r: r.path == PATH_CS)) == 1
    zalo.reset()
    zalo.fail_next(2, status=500, paths=[PATH_CS])
    with pytest.raises(TransientChannelError) as info:
        await client.send_text("zu-1", "Hồ sơ đã có kết quả")
    assert info.value.maybe_delivered is True and len(zalo.calls(lambda r: r.path == PATH_CS)) == 1
    zalo.reset()
    zalo.fail_next(2, status=502, paths=[PATH_ZNS])
    with pytest.raises(TransientChannelError) as info:
        await client.send_zns("0912345678", "243921", {"dossier_code": "X"}, "1:2:status_ready:1")
    assert info.value.maybe_delivered is True and len(zalo.calls(lambda r: r.path == PATH_ZNS)) == 1
    await client.close()


async def test_zalo_slow_answer_is_sent_once(zalo: FakeZaloAPI, zalo_client_factory):
    client = zalo_client_factory(timeout=0.3)
    release = zalo.hold_next(1, match=lambda r: r.path == PATH_CS)
    try:
        with pytest.raises(TransientChannelError) as info:
            await client.send_text("zu-1", "nhắc lịch")
    finally:
        release.set()
    assert info.value.maybe_delivered is True and len(zalo.calls(lambda r: r.path == PATH_CS)) == 1
    await client.close()


async def test_zalo_definite_refusals_are_retried(zalo: FakeZaloAPI, zalo_client_factory):
    client = zalo_client_factory()
    zalo.fail_next(1, error=-32, paths=[PATH_CS])  # rate limit: Zalo refused it
    zalo.fail_next(1, status=429, retry_after=0, paths=[PATH_CS])
    assert await client.send_text("zu-1", "qua được giới hạn tạm thời")
    assert [r.status for r in zalo.calls(lambda r: r.path == PATH_CS)] == [200, 429, 200]
    assert len(zalo.cs_messages("zu-1")) == 1
    await client.close()
    refused = zalo_client_factory(api_base=f"http://127.0.0.1:{dead_port()}")
    with pytest.raises(TransientChannelError) as info:
        await refused.send_text("zu-1", "x")
    assert info.value.maybe_delivered is False
    await refused.close()


async def test_zalo_a_later_part_failing_makes_the_message_ambiguous(zalo: FakeZaloAPI, zalo_client_factory):
    client = zalo_client_factory()
    zalo.queue_failure(Failure(429, {"error": -32, "message": "Too many requests"}, {"Retry-After": "120"},
                               match=lambda r: r.path == PATH_CS
                               and r.params["message"].get("text", "").startswith("B")))
    with pytest.raises(TransientChannelError) as info:
        await client.send_text("zu-1", "A" * 1900 + "\n\n" + "B" * 200)
    assert info.value.maybe_delivered is True and "after 1 of 2 parts" in str(info.value)
    assert len(zalo.cs_messages("zu-1")) == 1
    await client.close()
