"""The handoff desk end to end: a Telegram citizen, the real assistant, the real console, Chromium.

The assistant runs as ``make run`` runs it (``python -m bot.cli serve``: action server and
``rasa run`` with the trained model, Rasa's HTTP API off) with Telegram pointed at the
loopback fake Bot API and the console bridge on a per-test token; the console runs as its
own process. The citizen asks for a person, an agent takes the ticket in the browser, the
assistant stays silent while the agent chats, and answers again after the hand-back. The
bridge's own refusals (token, JSON) are checked against the same running Rasa server.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import httpx
import pytest
from sqlalchemy import select

from bot.cli.db import db_init
from bot.db.models import HandoffRequest
from bot.db.models_staff import AuditEntry
from bot.db.session import get_engine, session_scope
from bot.settings import get_settings
from tests.e2e import trackers
from tests.fakes.telegram_api import FakeTelegramAPI, text_update
from tests.support.assistant import running_assistant
from tests.support.console import browser_login, login_client, make_staff, running_console, screenshot

pytestmark = pytest.mark.slow

WEBHOOK_SECRET = "handoff-Webhook_secret-for-tests"
CHAT = 5150  # the Telegram citizen (a private chat: chat id = user id)
CITIZEN = f"telegram:{CHAT}"


class Stack:
    """The running assistant and console, the fake Telegram API, the bridge token."""

    def __init__(self, rasa_url: str, console_url: str, database_url: str, tg: FakeTelegramAPI, token: str) -> None:
        self.rasa_url, self.console_url, self.database_url, self.tg, self.token = (
            rasa_url, console_url, database_url, tg, token)

    def telegram(self, text: str, user_id: int = CHAT) -> None:
        reply = httpx.post(f"{self.rasa_url}/webhooks/telegram/webhook", json=text_update(text, user_id),
                           headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}, timeout=30)
        assert reply.status_code == 200 and reply.json()["status"] == "accepted", reply.text

    def sent(self, chat: int = CHAT) -> List[str]:
        return [m["text"] for m in self.tg.sent_messages(chat)]

    def events(self, sender: str = CITIZEN) -> List[Dict[str, Any]]:
        return trackers.stored_events(self.database_url, sender)


def wait_for(predicate: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = Path(tmp_path_factory.mktemp("handoff"))
    database_url = f"sqlite:///{tmp / 'handoff.db'}"
    token = secrets.token_urlsafe(32)
    with pytest.MonkeyPatch.context() as mp, FakeTelegramAPI() as tg:
        mp.setenv("DATABASE_URL", database_url)
        mp.setenv("APP_ENV", "test")
        get_settings.cache_clear()
        db_init(database_url)
        make_staff(database_url)
        common = {"CONSOLE_BRIDGE_TOKEN": token, "HANDOFF_HOURS": "always"}
        assistant_env = {**common, "TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
                         "TELEGRAM_BOT_USERNAME": tg.username, "TELEGRAM_API_BASE": tg.base_url,
                         "TELEGRAM_CHAT_INTERVAL_S": "0.05", "USER_RATE_LIMIT_PER_MINUTE": "200"}
        try:
            with running_assistant(database_url, tmp, assistant_env) as rasa_url, \
                    running_console(database_url, tmp, {**common, "CONSOLE_RASA_URL": rasa_url}) as console_url:
                yield Stack(rasa_url, console_url, database_url, tg, token)
        finally:
            get_engine(database_url).dispose()
            get_settings.cache_clear()


def test_agent_takes_over_a_telegram_conversation_and_hands_it_back(stack: Stack, page) -> None:  # type: ignore[no-untyped-def]
    # the citizen asks for a person: a ticket, and the assistant says so on Telegram
    stack.telegram("cho em gặp người thật")
    wait_for(lambda: stack.sent(), what="the assistant's answer to the handoff request")
    with session_scope(stack.database_url) as session:
        ticket = session.execute(select(HandoffRequest).where(HandoffRequest.sender_key == CITIZEN)).scalar_one()
        ticket_id = ticket.id
    assert str(ticket_id) in stack.sent()[-1]

    # the agent sees it in the queue and takes it
    page.on("dialog", lambda dialog: dialog.accept())
    browser_login(page, stack.console_url, "agent1")
    page.goto(f"{stack.console_url}/console/handoff")
    row = page.locator(f"tr[data-ticket='{ticket_id}']")
    assert "Telegram" in row.inner_text() and "cho em gặp người thật" in row.inner_text()
    screenshot(page, "30-handoff-queue")
    row.get_by_role("button", name="Nhận").click()
    page.wait_for_url(f"{stack.console_url}/console/handoff/{ticket_id}")
    assert any(e.get("event") == "pause" for e in stack.events())
    page.locator("#live li[data-event-id]", has_text="trợ lý tạm dừng").wait_for()

    # the citizen writes again: the agent sees it within 2 s, the assistant does not answer
    answered = len(stack.sent())
    started = time.monotonic()
    stack.telegram("hồ sơ đất đai của em bị trả lại, vì sao ạ")
    page.locator("#live li.msg-user", has_text="bị trả lại").wait_for(timeout=2000)
    assert time.monotonic() - started < 2.0
    time.sleep(2.0)
    assert len(stack.sent()) == answered, stack.sent()[answered:]
    kinds = [e.get("event") for e in stack.events()]
    since_pause = kinds[kinds.index("pause"):]
    assert "user" in since_pause and "bot" not in since_pause and "action" not in since_pause, since_pause

    # the agent replies: Telegram gets it for this chat, the conversation stores it as the agent's
    reply = "Chào bạn, tôi là cán bộ Trung tâm. Hồ sơ bị trả lại do thiếu bản sao sổ hộ khẩu."
    page.get_by_label("Trả lời người dân").fill(reply)
    page.get_by_role("button", name="Gửi").click()
    wait_for(lambda: reply in stack.sent(), timeout=10, what="the agent's reply on Telegram")
    page.locator("#live li.msg-agent", has_text="thiếu bản sao").wait_for(timeout=3000)
    agent_events = [e for e in stack.events() if e.get("event") == "bot" and e.get("text") == reply]
    assert agent_events and agent_events[0]["metadata"]["handoff_agent"] == "agent1"
    assert page.get_by_label("Trả lời người dân").input_value() == ""
    screenshot(page, "31-handoff-chat")

    # hand back: the assistant answers the citizen's next message again
    page.get_by_role("button", name="Trả lại cho trợ lý").click()
    page.wait_for_url(f"{stack.console_url}/console/handoff?q=closed")
    assert stack.events()[-1].get("event") == "resume"
    answered = len(stack.sent())
    stack.telegram("thủ tục đăng ký khai sinh cần giấy tờ gì")
    wait_for(lambda: len(stack.sent()) > answered, timeout=60, what="the assistant's answer after hand-back")
    with session_scope(stack.database_url) as session:
        ticket = session.get(HandoffRequest, ticket_id)
        assert (ticket.status, ticket.agent) == ("closed", "agent1")
        assert ticket.taken_at is not None and ticket.closed_at >= ticket.taken_at
        actions = [e.action for e in session.execute(select(AuditEntry).where(
            AuditEntry.entity_id == str(ticket_id), AuditEntry.entity == "handoff_request")).scalars()]
        assert actions == ["handoff.take", "handoff.reply", "handoff.hand_back"]


def test_rest_citizen_gets_the_agent_message_with_the_next_answer(stack: Stack) -> None:
    def say(text: str) -> List[str]:
        reply = httpx.post(f"{stack.rasa_url}/webhooks/rest/webhook", json={"sender": "desk", "message": text},
                           timeout=60)
        assert reply.status_code == 200
        return [m.get("text", "") for m in reply.json()]

    assert say("cho tôi nói chuyện với cán bộ")
    with session_scope(stack.database_url) as session:
        ticket_id = session.execute(select(HandoffRequest.id).where(
            HandoffRequest.sender_key == "rest:desk")).scalar_one()
    agent, admin = login_client(stack.console_url, "agent1"), login_client(stack.console_url, "admin1")
    try:
        assert agent.post(f"/console/handoff/{ticket_id}/take").status_code == 303
        # a second agent (an admin here) cannot take it any more
        assert admin.post(f"/console/handoff/{ticket_id}/take").status_code == 409
        sent = agent.post(f"/console/api/handoff/tickets/{ticket_id}/reply", json={"text": "Tôi là cán bộ trực"})
        assert sent.status_code == 200 and sent.json()["delivery"] == "queued"
        assert agent.post(f"/console/api/handoff/tickets/{ticket_id}/reply", json={"text": "  "}).status_code == 422
        assert say("vâng ạ") == ["Tôi là cán bộ trực"]  # carried by the next answer; the assistant is silent
        assert say("còn gì nữa không") == []
        live = agent.get(f"/console/api/handoff/tickets/{ticket_id}/messages").json()
        assert [m["by"] for m in live["messages"] if m["by"] != "system"][-3:] == ["agent", "user", "user"]
        assert agent.post(f"/console/handoff/{ticket_id}/close").status_code == 303
        assert say("xin chào")  # the assistant is back
    finally:
        agent.close()
        admin.close()


def test_other_roles_cannot_use_the_desk(stack: Stack) -> None:
    editor, agent = login_client(stack.console_url, "editor1"), login_client(stack.console_url, "agent1")
    try:
        assert editor.get("/console/handoff").status_code == 403
        assert editor.get("/console/api/handoff/tickets").status_code == 403
        assert editor.post("/console/api/handoff/tickets/1/reply", json={"text": "x"}).status_code == 403
        assert agent.get("/console/api/handoff/tickets?queue=nope").status_code == 400
        assert agent.get("/console/api/handoff/tickets/99999999999/messages").status_code == 422
        assert agent.get("/console/api/handoff/tickets/424242/messages").status_code == 404
        assert agent.post("/console/api/handoff/tickets/1/reply", content=b"{not json",
                          headers={"Content-Type": "application/json"}).status_code == 422
        assert agent.post("/console/api/handoff/tickets/1/reply", json={"text": "x" * 4001}).status_code == 422
        schema = agent.get("/console/api/openapi.json").json()
        assert "/console/api/handoff/tickets/{ticket_id}/reply" in schema["paths"]
    finally:
        editor.close()
        agent.close()


@pytest.mark.parametrize("headers, body, status", [
    ({}, {"conversation_id": CITIZEN}, 401),
    ({"Authorization": "Bearer wrong"}, {"conversation_id": CITIZEN}, 401),
    ({"Authorization": "Basic x"}, {"conversation_id": CITIZEN}, 401),
    ({"Authorization": "Bearer {token}"}, b"{not json", 400),
    ({"Authorization": "Bearer {token}"}, b"[" * 5000, 400),
    ({"Authorization": "Bearer {token}"}, [CITIZEN], 400),
    ({"Authorization": "Bearer {token}"}, {"conversation_id": "nochannel"}, 400),
    ({"Authorization": "Bearer {token}"}, {"conversation_id": 5}, 400),
    ({"Authorization": "Bearer {token}"}, {}, 400),
])
def test_bridge_refuses_missing_tokens_and_bad_json(stack: Stack, headers: Dict[str, str], body: Any,
                                                    status: int) -> None:
    headers = {k: v.replace("{token}", stack.token) for k, v in headers.items()}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    for action in ("pause", "resume", "reply"):
        reply = httpx.post(f"{stack.rasa_url}/webhooks/console/handoff/{action}", content=content,
                           headers={**headers, "Content-Type": "application/json"}, timeout=10)
        assert reply.status_code == status, (action, reply.status_code, reply.text)


def test_bridge_other_refusals_are_4xx(stack: Stack) -> None:
    auth = {"Authorization": f"Bearer {stack.token}"}
    base = f"{stack.rasa_url}/webhooks/console/handoff"
    assert httpx.post(f"{base}/reply", json={"conversation_id": CITIZEN}, headers=auth).status_code == 400
    assert httpx.post(f"{base}/reply", json={"conversation_id": CITIZEN, "text": 5}, headers=auth).status_code == 400
    assert httpx.post(f"{base}/reply", json={"conversation_id": CITIZEN, "text": "x" * 4001},
                      headers=auth).status_code == 413
    assert httpx.post(f"{base}/pause", content=b" " * 100_000, headers=auth).status_code == 413
    assert httpx.post(f"{base}/delete", json={"conversation_id": CITIZEN}, headers=auth).status_code == 404
    assert httpx.post(f"{base}/delete", json={}).status_code == 401
    assert httpx.get(f"{base}/pause", headers=auth).status_code == 405
    # Rasa's HTTP API stays off: the bridge is not a way into it
    assert httpx.get(f"{stack.rasa_url}/conversations/{CITIZEN}/tracker", headers=auth).status_code in (403, 404)
