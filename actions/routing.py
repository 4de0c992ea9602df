"""Messages that say what they are about but not what they ask: route them to the answer.

A bare answer ("khai sinh", a button's procedure) and a message the NLU is unsure of are each
answered here, in the same action, by the code that answers the question they continue; only a
dossier code hands over to the dossier form (a form must run as Rasa's loop). Answering in place
keeps the turn on the rules: an action queued with ``FollowupAction`` after an ``inform`` or an
``nlu_fallback`` matches no rule, and Rasa's core fallback then took the turn back.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.common import latest_entity
from actions.contact import answer_contact
from actions.procedures import (
    CODE_RE,
    WORD_RE,
    ActionSearchProcedures,
    answer_procedure,
    asked_aspect,
)
from bot.catalogue.query import aspect_words, topic
from bot.catalogue.service import CatalogueService
from bot.db.session import read_scope

logger = logging.getLogger(__name__)


class ActionRouteInform(Action):
    """A bare answer (code, procedure, place, field): continue what it answers."""

    def name(self) -> str:
        """Action name."""
        return "action_route_inform"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[EventType]:
        """See :func:`route_bare_answer`."""
        return await route_bare_answer(dispatcher, tracker, domain)


async def route_bare_answer(dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: Dict[str, Any]) -> List[EventType]:
    """Answer a bare answer from its entities, else from the catalogue, else say it was not understood.

    The catalogue is searched only for words: a lone number or sign ("5" with no rating asked)
    names no procedure.
    """
    if latest_entity(tracker, "dossier_code"):
        return [FollowupAction("dossier_form")]
    if latest_entity(tracker, "procedure") or tracker.get_slot("pending_aspect"):
        return answer_procedure(dispatcher, tracker, domain, asked_aspect(tracker))
    if latest_entity(tracker, "place"):
        return answer_contact(dispatcher, tracker, domain)
    if latest_entity(tracker, "field"):
        return await ActionSearchProcedures().run(dispatcher, tracker, domain)
    text = tracker.latest_message.get("text") or ""
    code, matches = None, []
    if WORD_RE.search(topic(text)):
        try:
            with read_scope() as session:
                code, matches = CatalogueService(session).resolve(text)
        except SQLAlchemyError:
            logger.exception("catalogue unavailable for a bare answer")
    if code or matches:
        return answer_procedure(dispatcher, tracker, domain, asked_aspect(tracker))
    dispatcher.utter_message(response="utter_default")
    return []


class ActionRouteFallback(Action):
    """A message the NLU is unsure of: answer what it names, else say it was not understood.

    "dang ky khai sinh cho con can gi" may fall below the intent threshold while its procedure
    is certain (a catalogue code from the exact synonyms): it gets that procedure's answer for the
    aspect its own question words name (else the overview) rather than "I did not understand".
    Any other message is answered as a procedure question only on the search's own evidence
    (:func:`names_procedure`): an unsure message could be about anything.
    """

    def name(self) -> str:
        """Action name."""
        return "action_route_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[EventType]:
        """The dossier form for a dossier code, the answer for a known procedure, else ``utter_default``."""
        if latest_entity(tracker, "dossier_code"):
            return [FollowupAction("dossier_form")]
        if CODE_RE.match(latest_entity(tracker, "procedure") or "") or names_procedure(tracker):
            return answer_procedure(dispatcher, tracker, domain, likely_aspect(tracker))
        dispatcher.utter_message(response="utter_default")
        return []


class ActionRouteOutOfScope(Action):
    """A message read as out of scope: a procedure question the NLU did not recognise (a rare procedure
    told as a situation) is answered on the search's own evidence; anything else is out of scope."""

    def name(self) -> str:
        """Action name."""
        return "action_route_out_of_scope"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[EventType]:
        """The procedure answer when :func:`names_procedure`, else ``utter_out_of_scope``."""
        if names_procedure(tracker):
            return answer_procedure(dispatcher, tracker, domain, likely_aspect(tracker))
        dispatcher.utter_message(response="utter_out_of_scope")
        return []


def names_procedure(tracker: Tracker) -> bool:
    """Whether the latest message, which the NLU did not read as a procedure question, names one on the
    search's own evidence (:meth:`CatalogueService.asks_procedure`); False when the catalogue is down."""
    text = tracker.latest_message.get("text") or ""
    if not WORD_RE.search(topic(text)):
        return False
    try:
        with read_scope() as session:
            return CatalogueService(session).asks_procedure(text)
    except SQLAlchemyError:
        logger.exception("catalogue unavailable for an unplaced message")
        return False


def likely_aspect(tracker: Tracker) -> str:
    """The aspect the message's own question words name ("... cần gì"), else :func:`asked_aspect`.

    The NLU's ranking is not used: below its threshold it is a weak guess. The answer names its
    aspect and procedure, so a reading the citizen did not mean is plain to see.
    """
    asked = asked_aspect(tracker)
    if asked == "legal":
        return asked
    return aspect_words(tracker.latest_message.get("text") or "") or asked
