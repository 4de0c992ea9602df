"""Actions: subscribe to / unsubscribe from pushed dossier reminders (thin: see bot.reminders)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import identity_of
from bot.conversations.identity import ConversationIdentity
from bot.db.session import session_scope
from bot.dossiers.access import may_view
from bot.dossiers.verification import Budgets, VerificationGuard
from bot.reminders.clock import system_clock
from bot.reminders.subscriptions import Reply, subscribe, unsubscribe
from bot.settings import get_settings

logger = logging.getLogger(__name__)


def _subscribe(identity: ConversationIdentity, verified_code: Optional[str]) -> Reply:
    settings = get_settings()
    with session_scope(settings.database_url) as session:
        guard = VerificationGuard(session, Budgets.from_settings(settings))
        # the slot only names the dossier; whether this person may have it is re-checked here
        code = verified_code if verified_code and may_view(session, guard, verified_code, identity) else None
        return subscribe(session, input_channel=identity.channel, sender_id=identity.user_id, verified_code=code,
                         now=system_clock())


def _unsubscribe(input_channel: str, sender_id: str) -> Reply:
    with session_scope(get_settings().database_url) as session:
        return unsubscribe(session, input_channel=input_channel, sender_id=sender_id, now=system_clock())


async def _answer(dispatcher: CollectingDispatcher, tracker: Tracker,
                  call: Callable[[ConversationIdentity], Reply]) -> List[Dict[str, Any]]:
    """Private chats only: run ``call`` (blocking, database) off the event loop and utter its reply."""
    identity = identity_of(tracker)
    if identity is None or not identity.private:
        dispatcher.utter_message(response="utter_dossier_private_only")
        return []
    reply = await asyncio.to_thread(call, identity)
    dispatcher.utter_message(response=reply.response, **reply.variables)
    return []


class ActionSubscribeReminders(Action):
    """Subscribe to the dossier verified in this conversation, else to all linked dossiers."""

    def name(self) -> str:
        """Action name."""
        return "action_subscribe_reminders"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        """Record the subscription and utter the matching response."""
        verified_code = tracker.get_slot("verified_code")
        return await _answer(dispatcher, tracker, lambda identity: _subscribe(identity, verified_code))


class ActionUnsubscribeReminders(Action):
    """Stop every reminder to this user at once."""

    def name(self) -> str:
        """Action name."""
        return "action_unsubscribe_reminders"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        """Cancel the subscriptions and utter the matching response."""
        return await _answer(dispatcher, tracker, lambda identity: _unsubscribe(identity.channel, identity.user_id))
