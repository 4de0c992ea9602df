"""The subscribe / unsubscribe dialogue: service and rasa-sdk actions."""

from __future__ import annotations

from typing import Any, Dict, Optional

import pytest
import sqlalchemy as sa
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.reminders import ActionSubscribeReminders, ActionUnsubscribeReminders
from bot.db.models import ChatUser, DossierLink, ReminderSubscription, VerificationAttempt, utcnow
from bot.reminders.subscriptions import channel_name
from bot.settings import get_settings
from tests.support.reminders import World

pytestmark = pytest.mark.usefixtures("reminder_env")


def tracker(sender_id: str, channel: Optional[str] = "telegram", verified_code: Optional[str] = None) -> Tracker:
    """A tracker of the conversation ``<channel>:<sender_id>`` (channel None: an id without a channel)."""
    events = [{"event": "user", "text": "nhắc tôi", "input_channel": channel,
               "parse_data": {"intent": {"name": "subscribe_reminders"}}}]
    conversation = f"{channel}:{sender_id}" if channel else sender_id
    return Tracker(conversation, {"verified_code": verified_code}, {"intent": {"name": "subscribe_reminders"}},
                   events, False, None, {}, "action_listen")


def verified(world: World, sender_id: str, code: str, channel: str = "telegram") -> str:
    """Record that conversation ``<channel>:<sender_id>`` verified ``code`` just now (as the form does)."""
    with world.sessions() as s, s.begin():
        s.add(VerificationAttempt(dossier_code=code, sender_key=f"{channel}:{sender_id}", success=True,
                                  attempted_at=utcnow()))
    return code


@pytest.fixture
def actions_db(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv("DATABASE_URL", world.url)
    get_settings.cache_clear()
    return world


async def _run(action, trk: Tracker) -> Dict[str, Any]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, trk, {})
    assert events == []
    (message,) = dispatcher.messages
    return message


async def test_subscribe_to_the_verified_dossier(actions_db: World):
    world = actions_db
    dossier = world.dossier("received")
    code = verified(world, "777", world.code(dossier))
    message = await _run(ActionSubscribeReminders(), tracker("777", verified_code=code))
    assert message["response"] == "utter_subscribed"
    assert message["dossier_code"] == code and message["procedure_name"] == "Đăng ký khai sinh"
    with world.sessions() as s:
        user = s.execute(sa.select(ChatUser).where(ChatUser.channel_user_id == "777")).scalar_one()
        assert user.channel == "telegram" and user.last_interaction_at is not None
        sub = s.execute(sa.select(ReminderSubscription)).scalar_one()
        assert sub.dossier_id == dossier and sub.active
        assert s.execute(sa.select(DossierLink.dossier_id)).scalar_one() == dossier
    # subscribing twice keeps one subscription
    await _run(ActionSubscribeReminders(), tracker("777", verified_code=code))
    with world.sessions() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(ReminderSubscription)).scalar() == 1


async def test_subscribe_to_all_linked_dossiers(actions_db: World):
    world = actions_db
    user = world.user("zalo", "zalo-user-1")
    world.link(user, world.dossier())
    world.link(user, world.dossier())
    message = await _run(ActionSubscribeReminders(), tracker("zalo-user-1", channel="zalo"))
    assert message["response"] == "utter_subscribed_all" and message["dossier_count"] == 2
    with world.sessions() as s:
        sub = s.execute(sa.select(ReminderSubscription)).scalar_one()
        assert sub.dossier_id is None and sub.chat_user_id == user


async def test_subscribe_needs_verification(actions_db: World):
    message = await _run(ActionSubscribeReminders(), tracker("888", channel="rest"))
    assert message["response"] == "utter_subscribe_need_verification"
    # a slot naming a dossier this conversation never verified is not enough
    dossier = actions_db.dossier()
    message = await _run(ActionSubscribeReminders(), tracker("888", verified_code=actions_db.code(dossier)))
    assert message["response"] == "utter_subscribe_need_verification"
    # an id without a channel prefix (not built by a channel) gets nothing
    message = await _run(ActionSubscribeReminders(), tracker("888", channel=None))
    assert message["response"] == "utter_dossier_private_only"
    message = await _run(ActionSubscribeReminders(), tracker("888", verified_code="không-có-mã-này"))
    assert message["response"] == "utter_subscribe_need_verification"


async def test_unsubscribe(actions_db: World):
    world = actions_db
    dossier = world.dossier()
    await _run(ActionSubscribeReminders(), tracker("999", verified_code=verified(world, "999", world.code(dossier))))
    message = await _run(ActionUnsubscribeReminders(), tracker("999"))
    assert message["response"] == "utter_unsubscribed"
    with world.sessions() as s:
        sub = s.execute(sa.select(ReminderSubscription)).scalar_one()
        assert not sub.active and sub.cancelled_at is not None
    message = await _run(ActionUnsubscribeReminders(), tracker("999"))
    assert message["response"] == "utter_no_subscription"


async def test_resubscribe_does_not_replay_old_status(world: World):
    user = world.user()
    dossier = world.dossier("in_progress")
    world.subscribe(user, dossier)
    world.unsubscribe(user)
    world.clock.advance(hours=1)
    world.set_status(dossier, "ready")  # changed while unsubscribed; the user asked again and saw it
    world.clock.advance(hours=1)
    world.subscribe(user, dossier)
    await world.sweep()
    assert world.telegram.sent == []


def test_channel_names():
    assert channel_name("telegram") == "telegram" and channel_name("zalo") == "zalo"
    assert channel_name(None) == "rest" and channel_name("cmdline") == "cmdline"  # as actions/dossiers.py stores it


def test_domain_declares_actions_and_responses():
    import yaml

    from bot.settings import ROOT

    domain = yaml.safe_load((ROOT / "domain" / "reminders.yml").read_text(encoding="utf-8"))
    assert set(domain["actions"]) == {"action_subscribe_reminders", "action_unsubscribe_reminders"}
    rules = yaml.safe_load((ROOT / "nlu_data" / "rules" / "reminders.yml").read_text(encoding="utf-8"))
    steps = {r["steps"][0]["intent"]: r["steps"][1]["action"] for r in rules["rules"]}
    assert steps == {"subscribe_reminders": "action_subscribe_reminders",
                     "unsubscribe_reminders": "action_unsubscribe_reminders"}
    for name in ("utter_subscribed", "utter_subscribed_all", "utter_unsubscribed", "utter_subscribe_need_verification",
                 "utter_no_subscription", "utter_reminder_received", "utter_reminder_need_documents",
                 "utter_reminder_waiting_fee", "utter_reminder_ready", "utter_reminder_returned",
                 "utter_reminder_refused", "utter_reminder_appointment_tomorrow", "utter_reminder_appointment_today",
                 "utter_reminder_overdue", "utter_reminder_overdue_new_date"):
        assert domain["responses"][name][0]["text"], name
