"""``HttpDossierSource`` against a real loopback HTTP server imitating the one-stop REST API."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import socket
import time
from typing import Iterator

import pytest

from bot.dossiers.demo import demo_dossiers
from bot.dossiers.sources import LocalDossierSource, SourceUnavailable
from bot.settings import Settings
from integrations.onestop import make_source
from integrations.onestop.client import HttpDossierSource
from tests.fakes.onestop_api import CLIENT_ID, CLIENT_SECRET, FakeOneStopAPI

TODAY = dt.date(2026, 3, 12)
RECORD = demo_dossiers(TODAY)[0]
CODE = RECORD.code
MISSING = "000.00.15.H65-240312-0404"


@pytest.fixture
def api() -> Iterator[FakeOneStopAPI]:
    with FakeOneStopAPI() as fake:
        for record in demo_dossiers(TODAY):
            fake.add_dossier(record.to_json())
        yield fake


def source(api: FakeOneStopAPI, **kw) -> HttpDossierSource:  # type: ignore[no-untyped-def]
    options = {"timeout": 2.0, "retries": 2, "backoff": 0.01, **kw}
    return HttpDossierSource(api.base_url, api.token_url, CLIENT_ID, CLIENT_SECRET, **options)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_fetch(api: FakeOneStopAPI) -> None:
    record = await source(api).get(CODE)
    assert record == RECORD
    assert record.phone_last4 == "5678"

    (token,) = api.token_calls()
    assert token.method == "POST"
    assert token.header("authorization") == "Basic " + base64.b64encode(
        f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert token.form == {"grant_type": "client_credentials"}
    (call,) = api.dossier_calls()
    assert (call.method, call.path, call.status) == ("GET", f"/dossiers/{CODE}", 200)
    assert call.header("authorization") == "Bearer tok-1"


async def test_every_demo_dossier_round_trips(api: FakeOneStopAPI) -> None:
    src = source(api)
    for expected in demo_dossiers(TODAY):
        assert await src.get(expected.code) == expected


async def test_not_found_is_none(api: FakeOneStopAPI) -> None:
    assert await source(api).get(MISSING) is None
    assert [c.status for c in api.dossier_calls()] == [404]  # a 404 is an answer: no retry


async def test_token_is_reused(api: FakeOneStopAPI) -> None:
    src = source(api)
    await src.get(CODE)
    await src.get(MISSING)
    await src.get(CODE)
    assert len(api.token_calls()) == 1
    assert {c.bearer for c in api.dossier_calls()} == {"tok-1"}


async def test_concurrent_calls_share_one_token(api: FakeOneStopAPI) -> None:
    src = source(api)
    results = await asyncio.gather(*(src.get(CODE) for _ in range(6)))
    assert all(r == RECORD for r in results)
    assert len(api.token_calls()) == 1


async def test_token_close_to_expiry_is_renewed() -> None:
    with FakeOneStopAPI(expires_in=20) as api:  # inside the 30 s safety margin: renewed every time
        api.add_dossier(RECORD.to_json())
        src = source(api)
        await src.get(CODE)
        await src.get(CODE)
        assert len(api.token_calls()) == 2
        assert [c.bearer for c in api.dossier_calls()] == ["tok-1", "tok-2"]


async def test_401_refreshes_the_token_once(api: FakeOneStopAPI) -> None:
    src = source(api)
    await src.get(CODE)
    api.revoke_tokens()  # e.g. the API restarted and forgot its tokens
    assert await src.get(CODE) == RECORD
    assert len(api.token_calls()) == 2
    assert [(c.bearer, c.status) for c in api.dossier_calls()] == [("tok-1", 200), ("tok-1", 401), ("tok-2", 200)]
    await src.get(CODE)
    assert len(api.token_calls()) == 2  # the new token is kept


async def test_401_twice_gives_up_without_looping(api: FakeOneStopAPI) -> None:
    api.reject_all_tokens = True
    with pytest.raises(SourceUnavailable, match="401"):
        await source(api).get(CODE)
    assert len(api.token_calls()) == 2  # the first token and one forced refresh
    assert len(api.dossier_calls()) == 2


@pytest.mark.parametrize("statuses", [[500], [500, 500], [503, 429], [502]])
async def test_transient_errors_are_retried(api: FakeOneStopAPI, statuses) -> None:  # type: ignore[no-untyped-def]
    for status in statuses:
        api.fail_next(status)
    assert await source(api, retries=2).get(CODE) == RECORD
    assert [c.status for c in api.dossier_calls()] == [*statuses, 200]
    assert len(api.token_calls()) == 1


@pytest.mark.parametrize("retries", [0, 1, 3])
async def test_persistent_errors_give_up_after_retries(api: FakeOneStopAPI, retries: int) -> None:
    api.fail_always(500)
    with pytest.raises(SourceUnavailable, match="500"):
        await source(api, retries=retries).get(CODE)
    assert len(api.dossier_calls()) == retries + 1


async def test_persistent_429_gives_up(api: FakeOneStopAPI) -> None:
    api.fail_always(429)
    with pytest.raises(SourceUnavailable, match="429"):
        await source(api, retries=1).get(CODE)
    assert len(api.dossier_calls()) == 2


async def test_backoff_between_retries(api: FakeOneStopAPI) -> None:
    api.fail_always(503)
    started = time.monotonic()
    with pytest.raises(SourceUnavailable):
        await source(api, retries=2, backoff=0.1).get(CODE)
    assert time.monotonic() - started >= 0.1 + 0.2 - 0.02
    calls = api.dossier_calls()
    assert calls[1].at - calls[0].at >= 0.09 and calls[2].at - calls[1].at >= 0.19


async def test_other_client_errors_are_not_retried(api: FakeOneStopAPI) -> None:
    api.fail_next(400, body={"error": "bad request"})
    with pytest.raises(SourceUnavailable, match="400"):
        await source(api).get(CODE)
    assert len(api.dossier_calls()) == 1


async def test_timeout(api: FakeOneStopAPI) -> None:
    api.delay(3.0)
    started = time.monotonic()
    with pytest.raises(SourceUnavailable):
        await source(api, timeout=0.2, retries=1).get(CODE)
    assert time.monotonic() - started < 2.5  # two attempts of 0.2 s, not the 3 s the server takes
    assert len(api.dossier_calls()) == 2
    api.delay(0)
    assert await source(api, timeout=2.0).get(CODE) == RECORD  # the fake is fine again


async def test_slow_but_in_time(api: FakeOneStopAPI) -> None:
    api.delay(0.2)
    assert await source(api, timeout=2.0, retries=0).get(CODE) == RECORD


@pytest.mark.parametrize("body", [b'{"code": "000.00.15', b"<html>Bad gateway</html>", b""])
async def test_malformed_json(api: FakeOneStopAPI, body: bytes) -> None:
    api.malformed_next(body=body)
    with pytest.raises(SourceUnavailable, match="malformed"):
        await source(api).get(CODE)
    assert len(api.dossier_calls()) == 1


@pytest.mark.parametrize("payload", [{"code": CODE}, {"code": "nonsense", "status": "ready", "procedure_name": "x"},
                                     {**RECORD.to_json(), "status": "lost"},
                                     {**RECORD.to_json(), "appointment_date": "13/03/2026"}])
async def test_invalid_dossier_json(api: FakeOneStopAPI, payload) -> None:  # type: ignore[no-untyped-def]
    api.fail_next(200, body=payload)
    with pytest.raises(SourceUnavailable, match="malformed dossier"):
        await source(api).get(CODE)


@pytest.mark.parametrize("payload", [[], [RECORD.to_json()], 42, b'"ok"'])
async def test_json_that_is_not_an_object(api: FakeOneStopAPI, payload) -> None:  # type: ignore[no-untyped-def]
    api.fail_next(200, body=payload)
    with pytest.raises(SourceUnavailable):
        await source(api).get(CODE)


async def test_nothing_listening() -> None:
    port = closed_port()
    base = f"http://127.0.0.1:{port}"
    src = HttpDossierSource(base, f"{base}/oauth/token", CLIENT_ID, CLIENT_SECRET, timeout=1.0, retries=1,
                            backoff=0.01)
    started = time.monotonic()
    with pytest.raises(SourceUnavailable):
        await src.get(CODE)
    assert time.monotonic() - started < 3


async def test_wrong_client_secret(api: FakeOneStopAPI) -> None:
    src = HttpDossierSource(api.base_url, api.token_url, CLIENT_ID, "wrong", timeout=2, retries=1, backoff=0.01)
    with pytest.raises(SourceUnavailable, match="token endpoint answered 401"):
        await src.get(CODE)
    assert [c.status for c in api.token_calls()] == [401, 401]
    assert api.dossier_calls() == []


async def test_token_endpoint_hiccup_is_retried(api: FakeOneStopAPI) -> None:
    api.fail_next(503, path_prefix="/oauth/token")
    assert await source(api).get(CODE) == RECORD
    assert [c.status for c in api.token_calls()] == [503, 200]


@pytest.mark.parametrize("body", [b"not json", b'{"token": "x"}'])
async def test_token_endpoint_malformed(api: FakeOneStopAPI, body: bytes) -> None:
    api.malformed_next(count=10, body=body, path_prefix="/oauth/token")
    with pytest.raises(SourceUnavailable):
        await source(api, retries=1).get(CODE)
    assert len(api.token_calls()) == 2
    assert api.dossier_calls() == []


def test_make_source() -> None:
    assert isinstance(make_source(Settings(onestop_source="db")), LocalDossierSource)
    with pytest.raises(ValueError, match="ONESTOP_TOKEN_URL"):
        make_source(Settings(onestop_source="http", onestop_base_url="http://127.0.0.1:9", onestop_token_url=None,
                             onestop_client_id="a", onestop_client_secret="b"))
    src = make_source(Settings(onestop_source="http", onestop_base_url="http://127.0.0.1:9/api/",
                               onestop_token_url="http://127.0.0.1:9/oauth/token", onestop_client_id="a",
                               onestop_client_secret="b", onestop_timeout=1.5, onestop_retries=4))
    assert isinstance(src, HttpDossierSource)
    assert (src.base_url, src.timeout, src.retries) == ("http://127.0.0.1:9/api", 1.5, 4)


async def test_base_url_with_path(api: FakeOneStopAPI) -> None:
    """A base URL with a trailing slash still yields ``/dossiers/<code>``."""
    src = HttpDossierSource(api.base_url + "/", api.token_url, CLIENT_ID, CLIENT_SECRET, retries=0)
    assert await src.get(CODE) == RECORD
    assert api.dossier_calls()[0].path == f"/dossiers/{CODE}"
