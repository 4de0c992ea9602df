"""Contacts of the service centre and commune desks, feedback and ratings, handoff to staff."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Dict, List, Optional, Protocol

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, ConversationPaused, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.common import fragment, hotline, latest_entity, sender_key
from bot.catalogue.units import UnitService
from bot.conversations.handoff import request_handoff
from bot.conversations.handoff_desk import held_by_agent
from bot.conversations.office_hours import next_staffed
from bot.db.session import read_scope
from bot.settings import get_settings

logger = logging.getLogger(__name__)


class Desk(Protocol):
    """What a contact answer reads of an agency (as :class:`~bot.catalogue.units.UnitService` finds it)."""

    name: str
    desk_name: Optional[str]
    address: Optional[str]
    opening_hours: Optional[str]
    hotline: Optional[str]
    email: Optional[str]


def _contact_values(domain: Dict[str, Any], agency: Desk) -> Dict[str, Any]:
    unknown = fragment(domain, "utter_fragment_unknown")
    return {
        "name": agency.name,
        "desk": fragment(domain, "utter_fragment_desk", desk=agency.desk_name) if agency.desk_name else "",
        "address": agency.address or unknown, "hours": agency.opening_hours or unknown,
        "hotline": agency.hotline or hotline(), "email": agency.email or unknown,
    }


class ActionContact(Action):
    """Address, hours, hotline and email of the desk of a unit (old or new name), or of the centre."""

    def name(self) -> str:
        """Action name."""
        return "action_contact"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[EventType]:
        """Look the place up and utter its contact."""
        return answer_contact(dispatcher, tracker, domain)


def answer_contact(dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[EventType]:
    """Utter the contact of the desk the message names (entity or words), else of the centre."""
    place = latest_entity(tracker, "place")
    text = tracker.latest_message.get("text") or ""
    try:
        with read_scope() as session:
            units = UnitService(session)
            centre = units.province_centre()
            match = units.find(place) if place else None
            if match is None and not text.startswith("/"):
                match = units.find_in_text(text)  # the NLU missed the place name
                place = place if match is None else None
            agency: Optional[Desk] = match.agency if match and match.agency else centre
            if place and match is None:
                dispatcher.utter_message(response="utter_contact_place_unknown", place=place)
            if agency is None:
                dispatcher.utter_message(response="utter_dossier_unavailable", hotline=hotline())
                return []
            values = _contact_values(domain, agency)
            old_note = ""
            if match and match.old_name:
                old_note = fragment(domain, "utter_contact_old_name", old_name=match.old_name.split(",")[0],
                                    new_name=match.unit.name)
            if match and match.unit.kind == "former_district":
                old_note = fragment(domain, "utter_fragment_former_district", district=match.unit.name,
                                    communes=", ".join(match.unit.aliases[:12]))
            dispatcher.utter_message(response="utter_contact", old_name_note=old_note, **values)
    except SQLAlchemyError:
        logger.exception("contact lookup failed")
        dispatcher.utter_message(response="utter_dossier_unavailable", hotline=hotline())
        return []
    return [SlotSet("answered", True)]


class ActionRequestHuman(Action):
    """Record a handoff request with the conversation so far."""

    def name(self) -> str:
        """Action name."""
        return "action_request_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[EventType]:
        """Create the ticket and tell the citizen (outside working hours: when staff next answer)."""
        try:
            ticket_id = request_handoff(sender_key(tracker), tracker.latest_message.get("text"), tracker.events)
        except SQLAlchemyError:
            logger.exception("handoff not stored")
            dispatcher.utter_message(response="utter_dossier_unavailable", hotline=hotline())
            return []
        now = dt.datetime.now(dt.timezone.utc)
        opening = next_staffed(get_settings(), now)
        if opening is not None and opening > now:
            dispatcher.utter_message(response="utter_handoff_after_hours", ticket=ticket_id, hotline=hotline(),
                                     time=opening.strftime("%H:%M"), date=opening.strftime("%d/%m/%Y"))
        else:
            dispatcher.utter_message(response="utter_handoff_recorded", ticket=ticket_id, hotline=hotline())
        return []


class ActionSessionStart(Action):
    """Rasa's session start, keeping the assistant paused while an agent holds the conversation.

    A new session (the citizen silent for ``session_expiration_time``) resets Rasa's pause;
    without this the assistant would answer in the middle of a handoff.
    """

    def name(self) -> str:
        """Action name (overrides Rasa's default ``action_session_start``)."""
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[EventType]:
        """``SessionStarted``, the session metadata, the pause if an agent holds it, then listen."""
        events: List[EventType] = [SessionStarted()]
        metadata = tracker.get_slot("session_started_metadata")
        if metadata:
            events.append(SlotSet("session_started_metadata", metadata))
        try:
            held = held_by_agent(sender_key(tracker))
        except SQLAlchemyError:
            logger.exception("handoff state unreadable at session start")
            held = False
        if held:
            events.append(ConversationPaused())
        events.append(ActionExecuted("action_listen"))
        return events


class ActionResetAnswered(Action):
    """Forget that something was answered (after asking for a rating)."""

    def name(self) -> str:
        """Action name."""
        return "action_reset_answered"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[EventType]:
        """Reset the slot."""
        return [SlotSet("answered", False)]
