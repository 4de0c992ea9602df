"""A small hand-made conversation set for the analytics tests (expected figures worked out by hand).

Days are local (Asia/Ho_Chi_Minh, UTC+7). Week 2024-W10 is 4–10 March, W11 from 11 March.

* A ``telegram:111`` Mon 4 Mar 10:00: greet, ask_fee (phone in the text).
* B ``zalo:222`` Mon 4 Mar 23:59:50: gibberish (nlu_fallback); Tue 5 Mar 00:00:05 ask_place answered by
  ``action_default_fallback`` (core fallback), with a phone number.
* C ``telegram:group:-100:333`` Tue 5 Mar 09:00: the same question without diacritics (nlu_fallback),
  then check_status with a dossier code.
* D ``rest:abc`` Mon 11 Mar 08:00: greet, request_human.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Dict, List, Optional

import sqlalchemy as sa

from bot.analytics.schema import events, rasa_metadata
from bot.db.models import ChatUser, Dossier, Feedback, HandoffRequest, NotificationLog
from bot.db.session import get_engine, session_scope

ZONE = dt.timezone(dt.timedelta(hours=7))
CODE = "000.00.15.H65-240312-0001"
PHONE_B, PHONE_C = "0912345678", "0987654321"


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> float:
    """Epoch seconds of 2024-03-<day> hh:mm:ss local."""
    return dt.datetime(2024, 3, day, hour, minute, second, tzinfo=ZONE).timestamp()


def utc(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """Naive UTC datetime of a local time on 2024-03-<day>."""
    return dt.datetime(2024, 3, day, hour, minute, tzinfo=ZONE).astimezone(dt.timezone.utc).replace(tzinfo=None)


def _row(sender: str, kind: str, ts: float, *, intent: Optional[str] = None, action: Optional[str] = None,
         text: Optional[str] = None) -> Dict[str, Any]:
    data: Dict[str, Any] = {"event": kind, "timestamp": ts}
    if text is not None:
        data["text"] = text
    if action is not None:
        data["name"] = action
    if intent is not None:
        data["parse_data"] = {"text": text, "intent": {"name": intent, "confidence": 0.9}}
    return {"sender_id": sender, "type_name": kind, "timestamp": ts, "intent_name": intent,
            "action_name": action, "data": json.dumps(data, ensure_ascii=False)}


def _start(sender: str, ts: float) -> List[Dict[str, Any]]:
    return [_row(sender, "action", ts, action="action_session_start"), _row(sender, "session_started", ts),
            _row(sender, "action", ts, action="action_listen")]


def _turn(sender: str, ts: float, text: str, intent: str, action: str, reply: str) -> List[Dict[str, Any]]:
    return [_row(sender, "user", ts, intent=intent, text=text), _row(sender, "action", ts + 1, action=action),
            _row(sender, "bot", ts + 1, text=reply), _row(sender, "action", ts + 2, action="action_listen")]


def conversation_rows() -> List[Dict[str, Any]]:
    """Every event of the set, in the order the tracker store writes them."""
    a, b, c, d = "telegram:111", "zalo:222", "telegram:group:-100:333", "rest:abc"
    return [
        *_start(a, at(4, 10)),
        *_turn(a, at(4, 10, 0, 1), "xin chào", "greet", "utter_greet", "Xin chào!"),
        *_turn(a, at(4, 10, 1), "lệ phí làm sổ đỏ, gọi 0911222333", "ask_fee", "action_answer_fee", "Lệ phí ..."),
        *_start(b, at(4, 23, 59, 50)),
        *_turn(b, at(4, 23, 59, 51), "qwzx vbnm", "nlu_fallback", "utter_default", "Xin lỗi, tôi chưa hiểu."),
        *_turn(b, at(5, 0, 0, 5), f"Đăng ký khai sinh ở đâu {PHONE_B}", "ask_place", "action_default_fallback",
               "Xin lỗi, tôi chưa hiểu."),
        *_start(c, at(5, 9)),
        *_turn(c, at(5, 9, 0, 1), f"dang ky khai sinh o dau {PHONE_C}", "nlu_fallback", "utter_default",
               "Xin lỗi, tôi chưa hiểu."),
        *_turn(c, at(5, 9, 1), f"hs {CODE}", "check_status", "action_check_status", f"Hồ sơ {CODE} đang xử lý"),
        *_start(d, at(11, 8)),
        *_turn(d, at(11, 8, 0, 1), "/greet", "greet", "utter_greet", "Xin chào!"),
        *_turn(d, at(11, 8, 1), "tôi muốn gặp người", "request_human", "action_request_human", "Đã chuyển."),
    ]


def create_events(url: str) -> None:
    """Create Rasa's ``events`` table (as Rasa does) if missing, and empty it."""
    engine = get_engine(url)
    rasa_metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(events.delete())


def insert_events(url: str, rows: List[Dict[str, Any]], first_id: Optional[int] = None) -> None:
    """Insert event rows (with consecutive explicit ids from ``first_id`` when given)."""
    if first_id is not None:
        rows = [{**row, "id": first_id + i} for i, row in enumerate(rows)]
    with get_engine(url).begin() as conn:
        conn.execute(events.insert(), rows)


def add_side_tables(url: str) -> None:
    """Handoffs, ratings and reminder notices of the set."""
    with session_scope(url) as s:
        s.add_all([
            HandoffRequest(sender_key="telegram:111", reason="x", transcript=[], created_at=utc(4, 10, 10)),
            HandoffRequest(sender_key="rest:abc", reason="x", transcript=[], created_at=utc(11, 8, 1),
                           taken_at=utc(11, 8, 6), status="active"),
            Feedback(sender_key="telegram:111", rating=5, created_at=utc(4, 10, 5)),
            Feedback(sender_key="zalo:222", rating=3, created_at=utc(5, 0, 1)),
            Feedback(sender_key="telegram:group:-100:333", rating=4, created_at=utc(5, 9, 5)),
            Feedback(sender_key="rest:abc", rating=None, text="=cmd()", created_at=utc(11, 8, 5)),
        ])
        user = ChatUser(channel="telegram", channel_user_id="111")
        dossier = Dossier(code=CODE, procedure_name="x", status="received")
        s.add_all([user, dossier])
        s.flush()
        for i, (state, day) in enumerate([("sent", 4), ("failed", 5), ("undeliverable", 5), ("pending", 5),
                                          ("sent", 11)]):
            s.add(NotificationLog(key=f"k{i}", dossier_id=dossier.id, chat_user_id=user.id, kind="status",
                                  state=state, created_at=utc(day, 12)))


def rollup_tables(url: str) -> Dict[str, list]:
    """Every row of every rollup table, sorted (to compare two ways of computing them)."""
    from bot.analytics.schema import ROLLUP_TABLES

    with get_engine(url).connect() as conn:
        return {t.name: sorted(tuple(r) for r in conn.execute(sa.select(t))) for t in ROLLUP_TABLES}


def seed_console(url: str) -> None:
    """The whole set (events, handoffs, ratings, reminders) in a migrated database, rolled up."""
    from bot.analytics import run_rollup

    create_events(url)
    insert_events(url, conversation_rows())
    add_side_tables(url)
    run_rollup(get_engine(url), zone=ZONE)
