"""The masking tracker store against Rasa's own SQL store, on real SQLite and PostgreSQL.

The store remembers how many events of a tracker object are stored instead of counting them on
every save (issue 15); what it reads and writes must stay what Rasa's store reads and writes,
with personal data masked.
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
from typing import Any, Dict, List

import pytest
import ujson
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import event as sa_event
from sqlalchemy.engine import make_url

from bot.cli.runtime import tracker_store_endpoint
from integrations.tracker_store import MaskingSQLTrackerStore, requested_slot_after

CODE = "000.00.15.H65-240312-0001"
DOMAIN = Domain.from_dict({"slots": {
    "requested_slot": {"type": "any", "mappings": [{"type": "custom"}]},
    "phone_last4": {"type": "any", "mappings": [{"type": "custom"}]},
}})


def _store(cls: type, database_url: str, synchronous_commit: str = "on") -> SQLTrackerStore:
    config = tracker_store_endpoint(database_url, synchronous_commit)
    config.pop("type")
    if make_url(database_url).get_backend_name() != "sqlite":
        config["host"] = config.pop("url")
    return cls(domain=DOMAIN, **config)


def _user(text: str, t: float) -> UserUttered:
    return UserUttered(text, {"name": "inform"}, parse_data={"text": text, "intent": {"name": "inform"},
                                                             "entities": []}, timestamp=t)


def _turns() -> List[List[Event]]:
    """Four turns: a dossier code, the phone-ending question, the ending, thanks."""
    return [
        [ActionExecuted("action_listen", timestamp=1.0), _user(f"tra cuu ho so {CODE}", 2.0)],
        [ActiveLoop("dossier_form", timestamp=3.0), SlotSet("requested_slot", "phone_last4", timestamp=3.1),
         BotUttered("4 so cuoi?", timestamp=3.2), ActionExecuted("action_listen", timestamp=3.3)],
        [_user("so cuoi 5678", 4.0), SlotSet("phone_last4", "5678", timestamp=4.1),
         ActiveLoop(None, timestamp=4.2), SlotSet("requested_slot", None, timestamp=4.3)],
        [_user("cam on, so cua em 0912345678", 5.0), BotUttered("Da", timestamp=5.1)],
    ]


def _rows(store: SQLTrackerStore, sender: str) -> List[Dict[str, Any]]:
    with store.session_scope() as session:
        rows = session.query(store.SQLEvent).filter(store.SQLEvent.sender_id == sender).order_by(store.SQLEvent.id)
        return [{"type": r.type_name, "intent": r.intent_name, "action": r.action_name, "data": json.loads(r.data)}
                for r in rows]


async def _converse(store: SQLTrackerStore, sender: str, reload: bool) -> DialogueStateTracker:
    """Save after each turn; with ``reload`` each turn starts from a freshly loaded tracker."""
    tracker = await store.get_or_create_tracker(sender, append_action_listen=False)
    for turn in _turns():
        if reload:
            tracker = await store.retrieve(sender)  # type: ignore[assignment]
            tracker = tracker or DialogueStateTracker(sender, DOMAIN.slots)
        for event in turn:
            tracker.update(event)
        await store.save(tracker)
    return tracker


@pytest.mark.parametrize("reload", [True, False])
def test_stored_rows_match_rasas_store_but_masked(db_url: str, reload: bool) -> None:
    ours, rasas = _store(MaskingSQLTrackerStore, db_url), _store(SQLTrackerStore, db_url)
    asyncio.run(_converse(ours, "ours", reload))
    asyncio.run(_converse(rasas, "rasas", reload))
    mine, theirs = _rows(ours, "ours"), _rows(rasas, "rasas")
    assert [(r["type"], r["intent"], r["action"]) for r in mine] == [(r["type"], r["intent"], r["action"])
                                                                     for r in theirs]
    assert len(mine) == 12
    texts = [r["data"].get("text") for r in mine if r["type"] == "user"]
    assert texts == [f"tra cuu ho so {CODE}", "so cuoi ••••", "cam on, so cua em 091•••••••"]
    assert [r["data"]["value"] for r in mine if r["data"].get("name") == "phone_last4"] == ["••••"]
    assert "5678" in json.dumps([r["data"] for r in theirs])  # Rasa's store alone keeps it
    assert "5678" not in json.dumps([r["data"] for r in mine])


def test_saving_twice_and_saving_a_copy_add_nothing(db_url: str) -> None:
    store = _store(MaskingSQLTrackerStore, db_url)
    tracker = asyncio.run(_converse(store, "c", reload=False))
    asyncio.run(store.save(tracker))
    twin = copy.deepcopy(tracker)  # not remembered: the store counts its stored events as Rasa does
    asyncio.run(store.save(twin))
    twin.update(BotUttered("them", timestamp=6.0))
    asyncio.run(store.save(twin))
    assert [r["data"].get("text") for r in _rows(store, "c")][-2:] == ["Da", "them"]
    assert len(_rows(store, "c")) == 13


def test_loading_reads_the_latest_session_and_round_trips(db_url: str) -> None:
    store = _store(MaskingSQLTrackerStore, db_url)
    tracker = asyncio.run(_converse(store, "s", reload=True))
    tracker.update(ActionExecuted("action_session_start", timestamp=7.0))
    tracker.update(SessionStarted(timestamp=7.1))
    tracker.update(_user("xin chao", 7.2))
    asyncio.run(store.save(tracker))
    latest = asyncio.run(store.retrieve("s"))
    full = asyncio.run(store.retrieve_full_tracker("s"))
    assert latest is not None and full is not None
    assert [e.as_dict().get("text") for e in latest.events if isinstance(e, UserUttered)] == ["xin chao"]
    assert len(full.events) == 15
    latest.update(BotUttered("chao ban", timestamp=7.3))
    asyncio.run(store.save(latest))
    assert [r["data"].get("text") for r in _rows(store, "s")][-2:] == ["xin chao", "chao ban"]
    assert len(_rows(store, "s")) == 16
    assert asyncio.run(store.retrieve("nobody")) is None


def test_requested_slot_follows_the_form() -> None:
    assert requested_slot_after([]) is None
    asked = [ActiveLoop("f"), SlotSet("requested_slot", "phone_last4")]
    assert requested_slot_after(asked) == "phone_last4"
    assert requested_slot_after([*asked, ActiveLoop(None)]) is None
    assert requested_slot_after([*asked, SlotSet("requested_slot", "dossier_code")]) == "dossier_code"


@pytest.mark.postgres
def test_the_stores_connections_commit_as_configured(pg_url: str) -> None:
    """``TRACKER_SYNCHRONOUS_COMMIT`` reaches the store's own connections, and only those."""
    from sqlalchemy import text

    from bot.db.session import get_engine

    show = text("SHOW synchronous_commit")
    for mode in ("off", "on", "local"):
        store = _store(MaskingSQLTrackerStore, pg_url, mode)
        with store.engine.connect() as conn:
            assert conn.execute(show).scalar() == mode
        store.engine.dispose()
    with get_engine(pg_url).connect() as conn:
        assert conn.execute(show).scalar() == "on"
    with pytest.raises(ValueError, match="synchronous_commit"):
        _store(MaskingSQLTrackerStore, pg_url, "sometimes")


def test_a_new_conversation_is_saved_without_counting(db_url: str) -> None:
    store = _store(MaskingSQLTrackerStore, db_url)
    statements: List[str] = []
    sa_event.listen(store.engine, "before_cursor_execute", lambda *args: statements.append(args[2].lower()))
    tracker = asyncio.run(store.get_or_create_tracker("new", append_action_listen=True))  # Rasa's create_tracker
    for turn in _turns():
        for item in turn:
            tracker.update(item)
        asyncio.run(store.save(tracker))
    assert not [s for s in statements if "count(" in s]
    assert len(_rows(store, "new")) == 13
    asyncio.run(store.retrieve("elsewhere"))  # found nothing here, then written by another process
    other = _store(MaskingSQLTrackerStore, db_url)
    asyncio.run(other.save(DialogueStateTracker.from_events("elsewhere", _turns()[0], DOMAIN.slots)))
    reloaded = asyncio.run(store.retrieve("elsewhere"))  # a load that finds events forgets the empty one
    assert reloaded is not None
    unknown = copy.deepcopy(reloaded)
    unknown.update(BotUttered("them", timestamp=9.0))
    asyncio.run(store.save(unknown))  # not remembered and not known empty: counted, as Rasa does
    assert [r["data"].get("text") for r in _rows(store, "elsewhere")] == [None, f"tra cuu ho so {CODE}", "them"]


def test_stored_events_decode_as_the_standard_decoder_does(db_url: str) -> None:
    store = _store(MaskingSQLTrackerStore, db_url)
    asyncio.run(_converse(store, "u", reload=True))
    texts = [json.dumps(row["data"]) for row in _rows(store, "u")]
    texts += [json.dumps({"timestamp": 1765082345.1234567, "n": [math.nan, math.inf, -0.0, 10 ** 30, 5e-324],
                          "text": "số cuối \u2028 \ud83d\ude00 \\ \" /"})]
    for text in texts:
        decoded = ujson.loads(text)
        assert repr(decoded) == repr(json.loads(text))  # repr: NaN equals itself here, and -0.0 stays -0.0
