"""Ratings and free-text feedback after an answer."""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.common import hotline, latest_entity, sender_key
from actions.routing import route_bare_answer
from bot.conversations.feedback import rating_of, record_feedback

logger = logging.getLogger(__name__)


class ActionHandleFeedback(Action):
    """Store a rating (1–5, from the rating buttons or typed) or a free-text feedback.

    A bare answer that is no rating ("khai sinh" when the rating was asked) is answered in
    place (:func:`actions.routing.route_bare_answer`), in this turn.
    """

    def name(self) -> str:
        """Action name."""
        return "action_handle_feedback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[EventType]:
        """Save and thank."""
        text = tracker.latest_message.get("text") or ""
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        rating = rating_of(latest_entity(tracker, "rating"), text, typed=intent == "inform")
        if rating is None and intent == "inform":
            return await route_bare_answer(dispatcher, tracker, domain)
        try:
            record_feedback(sender_key(tracker), rating, text)
        except SQLAlchemyError:
            logger.exception("feedback not stored")
            dispatcher.utter_message(response="utter_dossier_unavailable", hotline=hotline())
            return []
        if rating:
            dispatcher.utter_message(response="utter_rating_thanks", rating=rating)
        else:
            dispatcher.utter_message(response="utter_feedback_thanks")
        return []
