"""Two Rasa workers sharing the Redis lock store (issue 15): answers stay right and turns never overlap.

The real assistant runs with ``RASA_WORKERS=2`` and ``LOCK_STORE_URL`` on the local Redis, on
PostgreSQL. Several citizens send at once, one of them several messages without waiting;
every message is answered, and in each stored conversation every user message is followed by
the end of its own turn (``action_listen``) before the next user message: no turn of one
conversation ran while another was still running, on either worker.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Dict, List

import httpx
import pytest

from bot.cli.db import db_init
from tests.e2e.trackers import stored_events
from tests.support.assistant import running_assistant

pytestmark = pytest.mark.postgres


def _turns_never_overlap(events: List[Dict]) -> None:
    kinds = [(e.get("event"), e.get("name")) for e in events if e.get("event") in {"user", "action"}]
    users = [i for i, (kind, _name) in enumerate(kinds) if kind == "user"]
    for start, end in zip(users, users[1:] + [len(kinds)]):
        assert ("action", "action_listen") in kinds[start + 1:end], kinds


async def _burst(url: str, sender: str, texts: List[str]) -> List[list]:
    async with httpx.AsyncClient(timeout=120) as client:
        replies = await asyncio.gather(*[client.post(f"{url}/webhooks/rest/webhook",
                                                     json={"sender": sender, "message": t}) for t in texts])
    return [r.json() for r in replies]


async def _citizen(url: str, sender: str) -> List[list]:
    out = []
    async with httpx.AsyncClient(timeout=120) as client:
        for text in ("xin chào", "làm giấy khai sinh cần giấy tờ gì", "còn lệ phí thì sao?"):
            out.append((await client.post(f"{url}/webhooks/rest/webhook",
                                          json={"sender": sender, "message": text})).json())
    return out


def test_two_workers_answer_everyone_and_keep_each_conversation_serial(pg_url: str, tmp_path: Path) -> None:
    db_init(pg_url)
    env = {"RASA_WORKERS": "2", "LOCK_STORE_URL": "redis://127.0.0.1:6379/13"}
    hasty = f"hasty-{uuid.uuid4().hex[:8]}"
    calm = [f"calm-{uuid.uuid4().hex[:8]}" for _ in range(6)]
    with running_assistant(pg_url, tmp_path, extra_env=env) as url:

        async def everyone() -> tuple:
            return await asyncio.gather(_burst(url, hasty, ["xin chào", "lệ phí làm hộ chiếu", "cảm ơn", "tạm biệt"]),
                                        *[_citizen(url, s) for s in calm])

        bursts, *conversations = asyncio.run(everyone())
    assert all(reply for reply in bursts), bursts
    for replies in conversations:
        assert all(replies), replies
        assert any("khai sinh" in (m.get("text") or "").lower() for m in replies[1]), replies[1]
    for sender in [hasty, *calm]:
        events = stored_events(pg_url, f"rest:{sender}")
        assert sum(e.get("event") == "user" for e in events) == (4 if sender == hasty else 3)
        _turns_never_overlap(events)
