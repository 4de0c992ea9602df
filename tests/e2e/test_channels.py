"""End to end over both channels: signed webhook in -> Rasa NLU -> actions -> reply recorded by the fake API.

Runs the real stack as ``make run`` does: the rasa-sdk action server and ``rasa run``
(subprocesses, Rasa's HTTP API off) with the runtime credentials/endpoints written by
``bot.cli``, the channels configured from the environment and every outside API replaced
by the loopback fakes. Conversations are read from the tracker store's table, under the
server-set ids ``telegram:<user>`` / ``zalo:<user>``. Needs a trained model
(``make train``; or ``E2E_MODEL`` = path of a model).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import httpx
import pytest

from bot.settings import ROOT, get_settings
from tests.channels.conftest import WEBHOOK_SECRET
from tests.e2e import trackers
from tests.fakes.telegram_api import FakeTelegramAPI, callback_update, photo_update, text_update
from tests.fakes.zalo_api import APP_ID, APP_SECRET, OA_SECRET_KEY, FakeZaloAPI, follow_event, image_event, signed
from tests.fakes.zalo_api import text_event as zalo_text

pytestmark = pytest.mark.slow


def _model() -> Path:
    if os.environ.get("E2E_MODEL"):
        return Path(os.environ["E2E_MODEL"])
    models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        pytest.skip("no trained model in models/ (run `make train`, or set E2E_MODEL)")
    return models[-1]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Stack:
    """The running stack and its fakes."""

    def __init__(self, rasa_url: str, database_url: str, tg: FakeTelegramAPI, zalo: FakeZaloAPI) -> None:
        self.rasa_url, self.database_url, self.tg, self.zalo = rasa_url, database_url, tg, zalo
        self.http = httpx.Client(timeout=30)

    def bot_texts(self, sender_id: str) -> List[str]:
        return trackers.bot_texts(self.database_url, sender_id)

    def last_intent(self, sender_id: str) -> Optional[str]:
        return trackers.last_intent(self.database_url, sender_id)

    def telegram(self, update: Dict[str, Any]) -> httpx.Response:
        return self.http.post(f"{self.rasa_url}/webhooks/telegram/webhook", json=update,
                              headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET})

    def zalo_event(self, event: Dict[str, Any]) -> httpx.Response:
        body, headers = signed(event)
        return self.http.post(f"{self.rasa_url}/webhooks/zalo/webhook", content=body, headers=headers)


def _wait(predicate, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the bot")
        time.sleep(0.1)


def _exchange(send, count_fn, quiet: float = 2.0, timeout: float = 90.0) -> Any:
    """Send one webhook, wait for at least one reply and then ``quiet`` seconds of silence."""
    start = count_fn()  # counted before sending: the reply may arrive before the webhook call returns
    result = send()
    _wait(lambda: count_fn() > start, timeout)
    last, since = count_fn(), time.monotonic()
    while time.monotonic() - since < quiet:
        time.sleep(0.1)
        if count_fn() != last:
            last, since = count_fn(), time.monotonic()
    return result


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    model = _model()
    from bot.cli.db import db_init
    from bot.cli.processes import action_server, wait_for_port
    from bot.cli.runtime import write_runtime_files

    tmp = tmp_path_factory.mktemp("e2e")
    database_url = f"sqlite:///{tmp / 'e2e.db'}"
    action_port, rasa_port = _free_port(), _free_port()
    with FakeTelegramAPI() as tg, FakeZaloAPI() as zalo, pytest.MonkeyPatch.context() as mp:
        env = {
            "APP_ENV": "test", "DATABASE_URL": database_url, "SCHEDULER_MODE": "off", "ACTION_PORT": str(action_port),
            "ACTION_SERVER_URL": f"http://127.0.0.1:{action_port}/webhook",
            "TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "TELEGRAM_BOT_USERNAME": tg.username, "TELEGRAM_API_BASE": tg.base_url,
            "TELEGRAM_CHAT_INTERVAL_S": "0.05", "TELEGRAM_GROUP_INTERVAL_S": "0.05",
            "ZALO_APP_ID": APP_ID, "ZALO_APP_SECRET": APP_SECRET, "ZALO_OA_SECRET_KEY": OA_SECRET_KEY,
            "ZALO_API_BASE": zalo.api_base, "ZALO_OAUTH_BASE": zalo.oauth_base, "ZALO_ZNS_BASE": zalo.zns_base,
            "ZALO_ACCESS_TOKEN": "at-0", "ZALO_REFRESH_TOKEN": "rt-0",
        }
        for key, value in env.items():
            mp.setenv(key, value)
        get_settings.cache_clear()
        db_init(database_url)
        paths = write_runtime_files(database_url=database_url, action_port=action_port, run_dir=tmp)
        credentials = paths["credentials"].read_text()
        assert "integrations.telegram.channel.TelegramInput" in credentials and "integrations.zalo.channel.ZaloInput" in credentials
        full_env = {**os.environ, **env}
        with action_server(action_port, env=full_env):
            log = open(tmp / "rasa.log", "w")  # closed in the finally block below
            proc = subprocess.Popen(
                [sys.executable, "-m", "rasa", "run", "--model", str(model), "--credentials",
                 str(paths["credentials"]), "--endpoints", str(paths["endpoints"]), "--port", str(rasa_port),
                 "--interface", "127.0.0.1"],
                cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT)
            try:
                wait_for_port("127.0.0.1", rasa_port, timeout=900, proc=proc)
                yield Stack(f"http://127.0.0.1:{rasa_port}", database_url, tg, zalo)
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                log.close()
        get_settings.cache_clear()


def _domain_text(name: str) -> str:
    from rasa.shared.core.domain import Domain

    return Domain.load(str(ROOT / "domain")).responses[name][0]["text"]


def test_telegram_conversation_end_to_end(stack: Stack):
    tg, user = stack.tg, "telegram:111"

    def sent() -> List[Dict[str, Any]]:
        return tg.sent_messages(111)

    def count() -> int:
        return len(sent())

    assert _exchange(lambda: stack.telegram(text_update("/start")), count).status_code == 200
    assert stack.last_intent(user) == "greet"
    keyboards = [m["reply_markup"] for m in sent() if m.get("reply_markup")]
    assert keyboards, "the greeting has buttons"
    buttons = [row[0] for row in keyboards[-1]["inline_keyboard"]]
    assert all(len(b["callback_data"].encode()) <= 64 for b in buttons)

    # tap the second button: callback query -> answered -> the payload's intent reaches Rasa
    button = buttons[1]
    click = callback_update(button["callback_data"], reply_markup=keyboards[-1])
    assert _exchange(lambda: stack.telegram(click), count).status_code == 200
    expected_intent = button["callback_data"].lstrip("=/").split("{", 1)[0]
    assert stack.last_intent(user) == expected_intent
    assert tg.api_calls("answerCallbackQuery")

    question = text_update("làm giấy khai sinh cho con cần giấy tờ gì")
    assert _exchange(lambda: stack.telegram(question), count).status_code == 200
    assert stack.last_intent(user) not in ("", None)

    notice = _domain_text("utter_text_only")
    assert _exchange(lambda: stack.telegram(photo_update()), count).status_code == 200
    assert sent()[-1]["text"] == notice.strip()

    # every bot utterance in the tracker reached Telegram, in order, and nothing else (but the notice)
    delivered = [m["text"] for m in sent() if m["text"] != notice.strip()]
    assert delivered == stack.bot_texts(user)
    # a replayed update is not answered twice
    update = text_update("cảm ơn")
    _exchange(lambda: stack.telegram(update), count)
    before = count()
    assert stack.telegram(update).json()["status"] == "duplicate"
    time.sleep(2)
    assert count() == before


def test_zalo_conversation_end_to_end(stack: Stack):
    zalo, zalo_id = stack.zalo, "246845883529197922"
    user = f"zalo:{zalo_id}"

    def sent() -> List[Dict[str, Any]]:
        return [m["message"] for m in zalo.cs_messages(zalo_id)]

    welcome = _domain_text("utter_welcome_follow").strip()
    def count() -> int:
        return len(sent())

    assert _exchange(lambda: stack.zalo_event(follow_event(zalo_id)), count).status_code == 200
    assert sent()[0]["text"] == welcome
    assert [b["type"] for b in sent()[0]["attachment"]["payload"]["buttons"]] == ["oa.query.hide"] * 3

    greeting = zalo_text(zalo_id, "xin chào")
    assert _exchange(lambda: stack.zalo_event(greeting), count).json()["status"] == "accepted"
    assert stack.last_intent(user) == "greet"

    # the citizen taps a button: Zalo posts its (hidden) payload as a user_send_text
    buttons = [m for m in sent()[1:] if m.get("attachment")][-1]["attachment"]["payload"]["buttons"]
    payload = buttons[0]["payload"]
    assert _exchange(lambda: stack.zalo_event(zalo_text(zalo_id, payload)), count).status_code == 200
    assert stack.last_intent(user) == payload.lstrip("/").split("{", 1)[0]

    notice = _domain_text("utter_text_only").strip()
    assert _exchange(lambda: stack.zalo_event(image_event(zalo_id)), count).status_code == 200
    assert sent()[-1]["text"] == notice

    delivered = [m["text"] for m in sent()[1:] if m.get("text") != notice]
    assert delivered == stack.bot_texts(user)
    # replay: Zalo re-posts the greeting after a timeout; nothing is sent twice
    count = len(sent())
    assert stack.zalo_event(greeting).json()["status"] == "duplicate"
    time.sleep(2)
    assert len(sent()) == count
    # the access token was refreshed once (env seed) and stored; calls used the fresh token
    assert len(zalo.refresh_calls()) == 1
    assert json.loads(json.dumps(zalo.calls(lambda r: r.path.endswith("/message/cs"))[-1].headers))[
        "access_token"] != "at-0"
