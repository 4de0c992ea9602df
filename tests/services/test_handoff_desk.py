"""The handoff desk on a real database (SQLite and PostgreSQL): queue, atomic take, release, hand back,
agents' messages for request/response channels, the live conversation from Rasa's ``events`` table."""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import List

import pytest
from sqlalchemy import select

from bot.conversations import handoff_desk as desk
from bot.conversations.handoff import request_handoff
from bot.db.models import HandoffRequest
from bot.db.models_staff import AuditEntry
from bot.db.session import get_sessionmaker, session_scope
from tests.support.analytics import create_events, insert_events

T0 = dt.datetime(2026, 12, 3, 2, 0, 0)  # 09:00 in Hà Nội time


def _ticket(url: str, sender: str = "telegram:4242", text: str = "cho tôi gặp cán bộ, sđt 0912345678") -> int:
    events = [{"event": "user", "text": "hồ sơ của tôi chậm quá", "timestamp": 1.0},
              {"event": "bot", "text": "Xin lỗi bạn", "timestamp": 2.0},
              {"event": "user", "text": text, "timestamp": 3.0}]
    ticket_id = request_handoff(sender, text, events, database_url=url)
    with session_scope(url) as session:
        session.get(HandoffRequest, ticket_id).created_at = T0
    return ticket_id


def _audit(url: str) -> List[tuple]:
    with session_scope(url) as session:
        return [(e.actor, e.action, e.entity_id, e.after) for e in
                session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()]


def test_queue_shows_waiting_time_channel_reason_and_masked_transcript(db_url: str) -> None:
    first, second = _ticket(db_url), _ticket(db_url, "zalo:777", "gặp người thật")
    with session_scope(db_url) as session:
        session.get(HandoffRequest, second).created_at = T0 + dt.timedelta(minutes=5)
        waiting = desk.queue(session, "waiting", now=T0 + dt.timedelta(minutes=12))
        assert [t.id for t in waiting] == [first, second]  # oldest first
        assert [t.channel for t in waiting] == ["telegram", "zalo"]
        assert [t.waiting_seconds for t in waiting] == [720, 420]
        assert waiting[0].reason == "cho tôi gặp cán bộ, sđt 091•••••••"
        assert [line["text"] for line in waiting[0].transcript] == [
            "hồ sơ của tôi chậm quá", "Xin lỗi bạn", "cho tôi gặp cán bộ, sđt 091•••••••"]
        assert desk.counts(session) == {"waiting": 2, "active": 0, "closed": 0}
        assert desk.queue(session, "active") == []
        with pytest.raises(desk.DeskError) as err:
            desk.queue(session, "everything")
        assert err.value.status == 400


def test_the_stored_transcript_masks_phone_endings_typed_for_verification(db_url: str) -> None:
    events = [{"event": "slot", "name": "requested_slot", "value": "phone_last4"},
              {"event": "user", "text": "5678"}, {"event": "user", "text": "cho gặp cán bộ"}]
    ticket_id = request_handoff("telegram:1", "cho gặp cán bộ", events, database_url=db_url)
    with session_scope(db_url) as session:
        assert [line["text"] for line in session.get(HandoffRequest, ticket_id).transcript] == [
            "••••", "cho gặp cán bộ"]


def test_take_is_atomic_two_agents_one_winner(db_url: str) -> None:
    ticket_id = _ticket(db_url)
    barrier, results, lock = threading.Barrier(2), {}, threading.Lock()

    def agent(name: str) -> None:
        session = get_sessionmaker(db_url)()
        try:
            barrier.wait(timeout=10)
            desk.take(session, ticket_id, name)
            session.commit()
            outcome = "took"
        except desk.DeskError as exc:
            session.rollback()
            outcome = exc.status
        finally:
            session.close()
        with lock:
            results[name] = outcome

    threads = [threading.Thread(target=agent, args=(name,)) for name in ("agent1", "agent2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results.values(), key=str) == [409, "took"], results
    winner = next(name for name, outcome in results.items() if outcome == "took")
    with session_scope(db_url) as session:
        ticket = session.get(HandoffRequest, ticket_id)
        assert (ticket.status, ticket.agent) == ("active", winner)
        assert ticket.taken_at is not None
    assert [(a, action) for a, action, _, _ in _audit(db_url)] == [(winner, "handoff.take")]


def test_take_of_a_closed_or_missing_ticket_is_refused(db_url: str) -> None:
    ticket_id = _ticket(db_url)
    with session_scope(db_url) as session:
        desk.close(session, ticket_id, "agent1", now=T0 + dt.timedelta(minutes=1))
    with session_scope(db_url) as session:
        with pytest.raises(desk.DeskError, match="đã đóng") as err:
            desk.take(session, ticket_id, "agent2")
        assert err.value.status == 409
        with pytest.raises(desk.DeskError) as missing:
            desk.take(session, 999_999, "agent2")
        assert missing.value.status == 404


def test_release_puts_the_ticket_back_in_the_queue(db_url: str) -> None:
    ticket_id = _ticket(db_url)
    with session_scope(db_url) as session:
        desk.take(session, ticket_id, "agent1")
    with session_scope(db_url) as session:
        assert not desk.release(session, ticket_id, "agent2", "not theirs")
        assert desk.release(session, ticket_id, "agent1", "trợ lý không tạm dừng được")
    with session_scope(db_url) as session:
        ticket = session.get(HandoffRequest, ticket_id)
        assert (ticket.status, ticket.agent, ticket.taken_at) == ("open", None, None)
        desk.take(session, ticket_id, "agent2")  # another agent can take it now
    assert [action for _, action, _, _ in _audit(db_url)] == ["handoff.take", "handoff.release", "handoff.take"]


def test_hand_back_records_waiting_and_handling_times_and_only_the_holder_may(db_url: str) -> None:
    ticket_id = _ticket(db_url)
    with session_scope(db_url) as session:
        desk.take(session, ticket_id, "agent1", now=T0 + dt.timedelta(minutes=3))
    with session_scope(db_url) as session:
        ticket = desk.get_ticket(session, ticket_id)
        with pytest.raises(desk.DeskError) as err:
            desk.check_holder(ticket, "agent2", is_admin=False)
        assert err.value.status == 403
        desk.check_holder(ticket, "agent2", is_admin=True)
        desk.check_holder(ticket, "agent1", is_admin=False)
        desk.close(session, ticket_id, "agent1", now=T0 + dt.timedelta(minutes=13))
    with session_scope(db_url) as session:
        closed = desk.queue(session, "closed")
        assert [(t.id, t.waiting_seconds, t.handling_seconds) for t in closed] == [(ticket_id, 180, 600)]
        with pytest.raises(desk.DeskError) as again:
            desk.close(session, ticket_id, "agent1")
        assert again.value.status == 409
        with pytest.raises(desk.DeskError):
            desk.check_holder(desk.get_ticket(session, ticket_id), "agent1", is_admin=False)
    actions = _audit(db_url)
    assert [(a, action) for a, action, _, _ in actions] == [("agent1", "handoff.take"), ("agent1", "handoff.hand_back")]
    assert actions[0][3]["waiting_seconds"] == 180
    assert actions[1][3] == {"status": "closed", "waiting_seconds": 180, "handling_seconds": 600}


def test_a_waiting_ticket_can_be_dropped(db_url: str) -> None:
    ticket_id = _ticket(db_url)
    with session_scope(db_url) as session:
        desk.close(session, ticket_id, "agent1", note="trùng", now=T0 + dt.timedelta(minutes=2))
    with session_scope(db_url) as session:
        ticket = desk.queue(session, "closed")[0]
        assert (ticket.waiting_seconds, ticket.handling_seconds) == (120, None)
    assert [action for _, action, _, _ in _audit(db_url)] == ["handoff.close"]


def test_agent_messages_for_the_rest_channel_are_carried_once(db_url: str) -> None:
    ticket_id = _ticket(db_url, "rest:abc")
    with session_scope(db_url) as session:
        ticket = desk.take(session, ticket_id, "agent1")
        desk.record_message(session, ticket, "agent1", "Chào bạn, tôi là cán bộ", delivered=False)
        desk.record_message(session, ticket, "agent1", "Bạn cần hỗ trợ gì?", delivered=False)
    assert desk.take_pending("rest:other", db_url) == []
    assert desk.take_pending("rest:abc", db_url) == ["Chào bạn, tôi là cán bộ", "Bạn cần hỗ trợ gì?"]
    assert desk.take_pending("rest:abc", db_url) == []
    assert [action for _, action, _, _ in _audit(db_url)] == ["handoff.take", "handoff.reply", "handoff.reply"]


def test_live_messages_come_from_the_events_table_after_the_ticket(db_url: str) -> None:
    sender = "telegram:4242"
    ticket_id = _ticket(db_url, sender)
    create_events(db_url)
    start = T0.replace(tzinfo=dt.timezone.utc).timestamp()

    def row(kind: str, ts: float, **data: object) -> dict:
        return {"sender_id": sender, "type_name": kind, "timestamp": ts, "intent_name": None, "action_name": None,
                "data": json.dumps({"event": kind, "timestamp": ts, **data})}

    insert_events(db_url, [
        row("user", start - 5, text="cho gặp cán bộ"),  # before the ticket: in its transcript, not live
        row("bot", start + 1, text="Tôi đã chuyển yêu cầu"),
        row("pause", start + 10),
        row("user", start + 20, text="số tôi 0987654321"),
        row("action", start + 21, name="action_listen"),
        row("bot", start + 30, text="Chào bạn", metadata={"handoff_agent": "agent1"}),
        {**row("user", start + 40, text="cảm ơn"), "sender_id": "telegram:other"},
    ])
    with session_scope(db_url) as session:
        ticket = desk.get_ticket(session, ticket_id)
        live = desk.live_messages(session, ticket)
        assert [(m["by"], m.get("text") or m.get("event")) for m in live["messages"]] == [
            ("bot", "Tôi đã chuyển yêu cầu"), ("system", "pause"), ("user", "số tôi 098•••••••"),
            ("agent", "Chào bạn")]
        assert live["paused"] is True
        later = desk.live_messages(session, ticket, after_id=live["last_id"])
        assert later == {"messages": [], "last_id": live["last_id"], "paused": None}
        insert_events(db_url, [row("resume", start + 50)])
        assert desk.live_messages(session, ticket, after_id=live["last_id"])["paused"] is False
