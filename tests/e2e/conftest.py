"""A real assistant (action server + Rasa server with the trained model) on loopback ports,
on a fresh seeded SQLite database, for end-to-end conversation tests over the REST channel."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List

import httpx
import pytest

from benchmarks.harness import running_assistant
from bot.cli import db_init
from bot.settings import get_settings


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
    """The real assistant on a fresh seeded SQLite database, on free loopback ports."""
    tmp = tmp_path_factory.mktemp("assistant")
    db_url = f"sqlite:///{tmp / 'assistant.db'}"
    old = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = db_url
    get_settings.cache_clear()
    try:
        db_init(db_url)
        with running_assistant(db_url, tmp) as url:
            yield Assistant(url, db_url)
    finally:
        if old is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = old
        get_settings.cache_clear()


@pytest.fixture
def sender() -> str:
    """A new conversation id."""
    return f"t-{uuid.uuid4().hex[:10]}"
