"""``LocalDossierSource``, ``apply_push`` and the authenticated push endpoint (a real Sanic server on
127.0.0.1, called over HTTP), on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import socket
import uuid
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List

import httpx
import pytest
from sanic import Sanic
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from bot.db.models import Dossier, DossierStatusHistory
from bot.db.session import session_scope
from bot.dossiers import records
from bot.dossiers.demo import demo_dossiers
from bot.dossiers.service import DossierRecord, upsert_dossier
from bot.dossiers.sources import LocalDossierSource, SourceUnavailable
from bot.settings import get_settings
from integrations.onestop.push import OneStopPushInput, apply_push
from tests.services.conftest import DEAD_PG_URL

TODAY = dt.date(2026, 3, 12)
RECORDS = demo_dossiers(TODAY)
RECORD = RECORDS[0]
CODE = RECORD.code
TOKEN = "push-token-for-tests"  # noqa: S105 - a test credential


def push_item(**changes: Any) -> Dict[str, Any]:
    return {**RECORD.to_json(), **changes}


def dossier_state(url: str) -> Dict[str, Any]:
    with session_scope(url) as session:
        rows = {r.code: (r.status, r.procedure_name, r.phone_last4)
                for r in session.execute(select(Dossier)).scalars()}
        history = session.execute(select(func.count(DossierStatusHistory.id))).scalar_one()
    return {"rows": rows, "history": history}


def history_of(url: str, code: str = CODE) -> List[str]:
    with session_scope(url) as session:
        stmt = (select(DossierStatusHistory.status).join(Dossier, Dossier.id == DossierStatusHistory.dossier_id)
                .where(Dossier.code == code).order_by(DossierStatusHistory.id))
        return list(session.execute(stmt).scalars())


# --- LocalDossierSource -------------------------------------------------------------------------

async def test_local_source(clean_db_url: str) -> None:
    with session_scope(clean_db_url) as session:
        for record in RECORDS:
            upsert_dossier(session, record)
    src = LocalDossierSource(clean_db_url)
    for record in RECORDS:
        assert await src.get(record.code) == record
    assert await src.get("000.00.15.H65-240312-9999") is None
    # without a URL: the configured DATABASE_URL (set by the fixture)
    assert await LocalDossierSource().get(CODE) == RECORD


async def test_local_source_database_down() -> None:
    with pytest.raises(SourceUnavailable):
        await LocalDossierSource(DEAD_PG_URL).get(CODE)


async def test_local_source_broken_sqlite_file(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(SourceUnavailable):
        await LocalDossierSource(f"sqlite:///{garbage}").get(CODE)
    # a database that was never migrated ("no such table") is unavailable too
    with pytest.raises(SourceUnavailable):
        await LocalDossierSource(f"sqlite:///{tmp_path / 'empty.db'}").get(CODE)


# --- apply_push ---------------------------------------------------------------------------------

def test_apply_push_object(clean_db_url: str) -> None:
    assert apply_push(push_item(), clean_db_url) == 1
    assert dossier_state(clean_db_url) == {"rows": {CODE: ("in_progress", "Đăng ký khai sinh", "5678")}, "history": 1}
    assert apply_push(push_item(status="ready", pickup_place="Quầy số 3"), clean_db_url) == 1
    assert history_of(clean_db_url) == ["in_progress", "ready"]
    with session_scope(clean_db_url) as session:
        row = session.execute(select(Dossier).where(Dossier.code == CODE)).scalar_one()
        assert row.status == "ready" and row.pickup_place == "Quầy số 3"


def test_apply_push_uses_database_url_from_settings(clean_db_url: str) -> None:
    assert apply_push(push_item()) == 1
    assert CODE in dossier_state(clean_db_url)["rows"]


def test_apply_push_list(clean_db_url: str) -> None:
    assert apply_push([r.to_json() for r in RECORDS], clean_db_url) == len(RECORDS)
    state = dossier_state(clean_db_url)
    assert set(state["rows"]) == {r.code for r in RECORDS} and state["history"] == len(RECORDS)


def test_apply_push_same_code_twice_in_one_list(clean_db_url: str) -> None:
    assert apply_push([push_item(status="received"), push_item(status="in_progress")], clean_db_url) == 2
    assert history_of(clean_db_url) == ["received", "in_progress"]
    assert dossier_state(clean_db_url)["rows"][CODE][0] == "in_progress"


@pytest.mark.parametrize("payload", [
    pytest.param({**RECORD.to_json(), "code": "HS-0001"}, id="invalid-code"),
    pytest.param({**RECORD.to_json(), "status": "archived"}, id="invalid-status"),
    pytest.param([], id="empty-list"),
    pytest.param([RECORD.to_json(), "x"], id="non-object-item"),
    pytest.param("hello", id="string"),
    pytest.param(None, id="null"),
    pytest.param([RECORDS[1].to_json(), {**RECORD.to_json(), "code": "bad"}], id="list-with-one-bad-item"),
])
def test_apply_push_rejects_and_writes_nothing(clean_db_url: str, payload: Any) -> None:
    apply_push(push_item(), clean_db_url)
    before = dossier_state(clean_db_url)
    with pytest.raises(ValueError):
        apply_push(payload, clean_db_url)
    assert dossier_state(clean_db_url) == before


@pytest.mark.postgres
def test_apply_push_database_error_rolls_back_the_whole_list(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second item fails in PostgreSQL (fee beyond INTEGER): the first one is not kept either."""
    monkeypatch.setattr(records, "check_dossier_fields", lambda *_a, **_k: None)  # let the bad fee reach the DB
    items = [RECORDS[1].to_json(), {**RECORDS[2].to_json(), "fee_due_vnd": 10**12}]
    with pytest.raises(SQLAlchemyError):
        apply_push(items, pg_url)
    assert dossier_state(pg_url) == {"rows": {}, "history": 0}


# --- the push endpoint ------------------------------------------------------------------------

class Inbox:
    """``on_new_message`` stand-in: the push endpoint must never produce chat messages."""

    def __init__(self) -> None:
        self.messages: List[Any] = []

    async def __call__(self, message: Any) -> None:
        self.messages.append(message)


@contextlib.asynccontextmanager
async def serve_push(channel: OneStopPushInput, inbox: Inbox) -> AsyncIterator[str]:
    """The channel's blueprint under ``/webhooks/onestop`` of a Sanic app on 127.0.0.1:<ephemeral>."""
    Sanic.test_mode = True  # several apps per process
    app = Sanic(f"onestop_push_test_{uuid.uuid4().hex[:12]}", configure_logging=False)
    app.blueprint(channel.blueprint(inbox), url_prefix="/webhooks/onestop")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    server = await app.create_server(sock=sock, return_asyncio_server=True, access_log=False)
    await server.startup()
    await server.before_start()
    await server.after_start()
    try:
        yield f"http://127.0.0.1:{port}/webhooks/onestop"
    finally:
        await server.before_stop()
        await server.close()
        await server.after_stop()
        sock.close()


@pytest.fixture
async def push(clean_db_url: str) -> AsyncIterator[Any]:
    inbox = Inbox()
    async with serve_push(OneStopPushInput(TOKEN), inbox) as base:
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            client.clean_db_url = clean_db_url  # type: ignore[attr-defined]
            yield client
    assert inbox.messages == []


AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}


async def test_push_health(push: httpx.AsyncClient) -> None:
    resp = await push.get("/")
    assert resp.status_code == 200 and resp.json() == {"status": "ok"}


async def test_push_valid_updates_the_row_and_history(push: httpx.AsyncClient) -> None:
    url = push.clean_db_url  # type: ignore[attr-defined]
    with session_scope(url) as session:
        upsert_dossier(session, RECORD)
    resp = await push.post("/dossiers", content=json.dumps(push_item(status="ready", pickup_place="Quầy 2")),
                           headers=AUTH)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"accepted": 1}
    assert history_of(url) == ["in_progress", "ready"]
    with session_scope(url) as session:
        row = session.execute(select(Dossier).where(Dossier.code == CODE)).scalar_one()
        assert (row.status, row.pickup_place) == ("ready", "Quầy 2")

    resp = await push.post("/dossiers", json=[r.to_json() for r in RECORDS[1:]], headers=AUTH)
    assert resp.status_code == 200 and resp.json() == {"accepted": len(RECORDS) - 1}
    assert len(dossier_state(url)["rows"]) == len(RECORDS)


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer wrong-token"},
    {"Authorization": f"Bearer {TOKEN}x"},
    {"Authorization": f"Bearer  {TOKEN}"},
    {"Authorization": TOKEN},
    {"Authorization": "Bearer"},
    {"Authorization": f"bearer {TOKEN}"},
    {"Authorization": f"Basic {TOKEN}"},
    {"X-Push-Token": TOKEN},
])
async def test_push_without_the_right_bearer_is_401(push: httpx.AsyncClient, headers: Dict[str, str]) -> None:
    resp = await push.post("/dossiers", json=push_item(), headers=headers)
    assert resp.status_code == 401
    assert resp.json() == {"error": "unauthorized"}
    assert dossier_state(push.clean_db_url)["rows"] == {}  # type: ignore[attr-defined]


async def test_push_auth_is_checked_before_the_body(push: httpx.AsyncClient) -> None:
    resp = await push.post("/dossiers", content=b"{not json", headers={"Authorization": "Bearer nope"})
    assert resp.status_code == 401
    resp = await push.post("/dossiers", content=b"x" * 1_000_001, headers={"Authorization": "Bearer nope"})
    assert resp.status_code == 401


@pytest.mark.parametrize("body", [b"{not json", b"", b"[1, 2", b'{"code": "\xff\xfe"}', b"\x00\x01"])
async def test_push_malformed_json_is_400(push: httpx.AsyncClient, body: bytes) -> None:
    resp = await push.post("/dossiers", content=body, headers=AUTH)
    assert resp.status_code == 400
    assert resp.json() == {"error": "malformed JSON"}


@pytest.mark.parametrize("payload", [
    {**RECORD.to_json(), "code": "123"},
    {**RECORD.to_json(), "status": "lost"},
    {**RECORD.to_json(), "procedure_name": ""},
    {**RECORD.to_json(), "missing_documents": "CCCD"},
    {**RECORD.to_json(), "appointment_date": "mai"},
    [],
    [RECORD.to_json(), {"code": "bad"}],
    42,
])
async def test_push_invalid_dossier_is_422(push: httpx.AsyncClient, payload: Any) -> None:
    resp = await push.post("/dossiers", json=payload, headers=AUTH)
    assert resp.status_code == 422
    assert resp.json()["error"]
    assert dossier_state(push.clean_db_url)["rows"] == {}  # type: ignore[attr-defined]


@pytest.mark.parametrize("payload", [{**RECORD.to_json(), "appointment_date": 20260313},
                                     {**RECORD.to_json(), "applicant_phone": 912345678}])
async def test_push_wrongly_typed_dossier_is_422(push: httpx.AsyncClient, payload: Any) -> None:
    resp = await push.post("/dossiers", json=payload, headers=AUTH)
    assert resp.status_code == 422


async def test_push_oversized_is_413(push: httpx.AsyncClient) -> None:
    item = push_item(note="x" * 1_000_000)
    resp = await push.post("/dossiers", json=item, headers=AUTH)
    assert resp.status_code == 413
    assert resp.json() == {"error": "payload too large"}
    assert dossier_state(push.clean_db_url)["rows"] == {}  # type: ignore[attr-defined]
    # just under the limit is accepted
    body = json.dumps(push_item(note="y" * 100)).encode()
    resp = await push.post("/dossiers", content=body + b" " * (1_000_000 - len(body)), headers=AUTH)
    assert resp.status_code == 200


async def test_push_configurable_limit(clean_db_url: str) -> None:
    channel = OneStopPushInput.from_credentials({"push_token": TOKEN, "max_bytes": 2000})
    inbox = Inbox()
    async with serve_push(channel, inbox) as base, httpx.AsyncClient(base_url=base, timeout=10) as client:
        assert (await client.post("/dossiers", json=[r.to_json() for r in RECORDS], headers=AUTH)).status_code == 413
        assert (await client.post("/dossiers", json=push_item(), headers=AUTH)).status_code == 200
    assert inbox.messages == []


async def test_push_database_down_is_503(push: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", DEAD_PG_URL)
    get_settings.cache_clear()
    resp = await push.post("/dossiers", json=push_item(), headers=AUTH)
    assert resp.status_code == 503
    assert "retry" in resp.json()["error"]


def test_from_credentials() -> None:
    channel = OneStopPushInput.from_credentials({"push_token": 12345})
    assert channel.push_token == "12345" and channel.max_bytes == 1_000_000
    assert OneStopPushInput.name() == "onestop"
    for creds in (None, {}, {"push_token": ""}):
        with pytest.raises(ValueError, match="push_token"):
            OneStopPushInput.from_credentials(creds)


def test_dossier_record_from_row_matches_push(clean_db_url: str) -> None:
    apply_push(push_item(), clean_db_url)
    with session_scope(clean_db_url) as session:
        row = session.execute(select(Dossier).where(Dossier.code == CODE)).scalar_one()
        assert DossierRecord.from_row(row) == RECORD
