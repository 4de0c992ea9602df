"""Actions: subscribe to / unsubscribe from pushed dossier reminders (thin: see bot.reminders)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.db.session import session_scope
from bot.reminders.clock import system_clock
from bot.reminders.subscriptions import Reply, subscribe, unsubscribe
from bot.settings import get_settings

logger = logging.getLogger(__name__)


def _subscribe(input_channel: str, sender_id: str, verified_code: str) -> Reply:
    with session_scope(get_settings().database_url) as session:
        return subscribe(session, input_channel=input_channel, sender_id=sender_id, verified_code=verified_code,
                         now=system_clock())


def _unsubscribe(input_channel: str, sender_id: str) -> Reply:
    with session_scope(get_settings().database_url) as session:
        return unsubscribe(session, input_channel=input_channel, sender_id=sender_id, now=system_clock())


class ActionSubscribeReminders(Action):
    """Subscribe to the dossier verified in this conversation, else to all linked dossiers."""

    def name(self) -> str:
        """Action name."""
        return "action_subscribe_reminders"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        """Record the subscription and utter the matching response."""
        channel = tracker.get_latest_input_channel() or "rest"
        reply = await asyncio.to_thread(_subscribe, channel, tracker.sender_id, tracker.get_slot("verified_code"))
        dispatcher.utter_message(response=reply.response, **reply.variables)
        return []


class ActionUnsubscribeReminders(Action):
    """Stop every reminder to this user at once."""

    def name(self) -> str:
        """Action name."""
        return "action_unsubscribe_reminders"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        """Cancel the subscriptions and utter the matching response."""
        channel = tracker.get_latest_input_channel() or "rest"
        reply = await asyncio.to_thread(_unsubscribe, channel, tracker.sender_id)
        dispatcher.utter_message(response=reply.response, **reply.variables)
        return []
