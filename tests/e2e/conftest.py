"""A real assistant (action server + Rasa server with the trained model) on loopback ports,
on a fresh seeded SQLite database, for end-to-end conversation tests over the REST channel.

The REST channel (``integrations.rest.DevRestInput``) files a client's ``sender`` under the
conversation ``rest:<sender>``; what the bot said is read from the tracker store's table
(Rasa's HTTP API is off)."""

from __future__ import annotations

import contextlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List

import httpx
import pytest

from bot.cli.db import db_init
from bot.conversations.identity import conversation_id
from bot.settings import get_settings
from tests.e2e.trackers import bot_events
from tests.support.assistant import running_assistant


@dataclass
class Turn:
    """What the assistant answered to one message."""

    texts: List[str]
    responses: List[str]
    buttons: List[Dict[str, Any]]

    @property
    def text(self) -> str:
        """What the citizen sees: the messages and the titles of their buttons."""
        return "\n".join(self.texts + [str(b.get("title", "")) for b in self.buttons])


@dataclass
class Assistant:
    """Client of the running assistant."""

    url: str
    database_url: str

    def say(self, sender: str, message: str) -> Turn:
        conversation = conversation_id("rest", sender)
        before = bot_events(self.database_url, conversation)
        with httpx.Client(timeout=60) as client:
            replies = client.post(f"{self.url}/webhooks/rest/webhook", json={"sender": sender, "message": message})
            replies.raise_for_status()
        new = bot_events(self.database_url, conversation)[len(before):]
        data = replies.json()
        assert all(r.get("recipient_id") == conversation for r in data), data
        return Turn([r.get("text", "") for r in data], [e.get("metadata", {}).get("utter_action") for e in new],
                    [b for r in data for b in r.get("buttons", [])])


@contextlib.contextmanager
def fresh_assistant(tmp: Path) -> Iterator[Assistant]:
    """The real assistant on a new seeded SQLite database in ``tmp``, on free loopback ports."""
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


@pytest.fixture(scope="session")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    """The real assistant shared by the session's e2e tests."""
    with fresh_assistant(tmp_path_factory.mktemp("assistant")) as running:
        yield running


@pytest.fixture(scope="module")
def own_assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    """A real assistant with a database of its own, for tests that must not share lock-outs or links."""
    with fresh_assistant(tmp_path_factory.mktemp("own_assistant")) as running:
        yield running


@pytest.fixture
def sender() -> str:
    """A new conversation id."""
    return f"t-{uuid.uuid4().hex[:10]}"
