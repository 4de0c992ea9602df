"""A real assistant (action server + Rasa server with the trained model) on loopback ports,
on a fresh seeded SQLite database, for end-to-end conversation tests over the REST channel."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List

import httpx
import pytest

from bot.cli import _free_port, db_init, latest_model, wait_for_port
from bot.settings import ROOT, get_settings


@dataclass
class Turn:
    """What the assistant answered to one message."""

    texts: List[str]
    responses: List[str]
    buttons: List[Dict[str, Any]]

    @property
    def text(self) -> str:
        return "\n".join(self.texts)


@dataclass
class Assistant:
    """Client of the running assistant."""

    url: str
    database_url: str

    def say(self, sender: str, message: str) -> Turn:
        with httpx.Client(timeout=60) as client:
            before = self._bot_events(client, sender)
            replies = client.post(f"{self.url}/webhooks/rest/webhook", json={"sender": sender, "message": message})
            replies.raise_for_status()
            after = self._bot_events(client, sender)
        new = after[len(before):]
        data = replies.json()
        return Turn([r.get("text", "") for r in data], [e.get("metadata", {}).get("utter_action") for e in new],
                    [b for r in data for b in r.get("buttons", [])])

    def _bot_events(self, client: httpx.Client, sender: str) -> List[Dict[str, Any]]:
        tracker = client.get(f"{self.url}/conversations/{sender}/tracker").json()
        return [e for e in tracker.get("events", []) if e.get("event") == "bot"]


@pytest.fixture(scope="session")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    """Start `python -m bot.cli serve` on free loopback ports; stop it afterwards."""
    latest_model()  # fails clearly when `make train` was not run
    tmp = tmp_path_factory.mktemp("assistant")
    db_url = f"sqlite:///{tmp / 'assistant.db'}"
    env = {**os.environ, "DATABASE_URL": db_url, "RASA_PORT": str(_free_port()), "ACTION_PORT": str(_free_port()),
           "SCHEDULER_MODE": "off", "LOG_LEVEL": "WARNING", "RUN_DIR": str(tmp), "APP_ENV": "test"}
    for name in ("TELEGRAM_BOT_TOKEN", "ZALO_APP_ID", "ONESTOP_PUSH_TOKEN"):
        env.pop(name, None)
    old = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = db_url
    get_settings.cache_clear()
    db_init(db_url)
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=open(tmp / "serve.log", "wb"),  # noqa: SIM115
                            start_new_session=True)
    try:
        wait_for_port("127.0.0.1", int(env["RASA_PORT"]), timeout=240, proc=proc)
        url = f"http://127.0.0.1:{env['RASA_PORT']}"
        httpx.get(f"{url}/status", timeout=120)
        yield Assistant(url, db_url)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        if old is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = old
        get_settings.cache_clear()


@pytest.fixture
def sender() -> str:
    """A new conversation id."""
    return f"t-{uuid.uuid4().hex[:10]}"
