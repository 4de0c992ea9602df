"""Dossier status: the dossier form (code, then phone ending) and the status answer."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from actions.common import channel_of, fragment, hotline, sender_key
from bot.db.models import ChatUser, Dossier, DossierLink
from bot.db.session import session_scope
from bot.dossiers.service import DossierRecord, VerificationGuard, link_dossier, upsert_dossier
from bot.nlu.patterns import find_last4, normalize_dossier_code
from bot.settings import get_settings
from integrations.onestop import LocalDossierSource, SourceUnavailable, make_source

logger = logging.getLogger(__name__)

# Sentinel slot values that end the form early with a specific answer.
INVALID, LOCKED, UNAVAILABLE, LINKED = "__invalid__", "__locked__", "__unavailable__", "__linked__"
MAX_INVALID_CODES = 3


def _today() -> dt.date:
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo(get_settings().timezone)).date()


def _already_linked(code: str, channel: str, sender_id: str) -> bool:
    with session_scope() as session:
        stmt = (select(DossierLink.id).join(Dossier, Dossier.id == DossierLink.dossier_id)
                .join(ChatUser, ChatUser.id == DossierLink.chat_user_id)
                .where(Dossier.code == code, ChatUser.channel == channel, ChatUser.channel_user_id == sender_id))
        return session.execute(stmt).first() is not None


class ValidateDossierForm(FormValidationAction):
    """Validates the dossier code, then verifies the phone ending with lock-out."""

    def name(self) -> str:
        """Action name."""
        return "validate_dossier_form"

    async def validate_dossier_code(self, slot_value: Any, dispatcher: CollectingDispatcher,
                                    tracker: Tracker, domain: DomainDict) -> Dict[str, Any]:
        """Accept a well-formed code (any spacing/case); after 3 bad ones stop asking."""
        code = normalize_dossier_code(str(slot_value or ""))
        if code is None:
            count = int(tracker.get_slot("invalid_code_count") or 0) + 1
            if count >= MAX_INVALID_CODES:
                return {"dossier_code": INVALID, "phone_last4": INVALID, "invalid_code_count": 0}
            dispatcher.utter_message(response="utter_invalid_dossier_code")
            return {"dossier_code": None, "invalid_code_count": count}
        try:
            if _already_linked(code, channel_of(tracker), tracker.sender_id):
                return {"dossier_code": code, "phone_last4": LINKED}
        except SQLAlchemyError:
            logger.warning("link lookup failed; asking for verification")
        return {"dossier_code": code, "invalid_code_count": 0}

    async def validate_phone_last4(self, slot_value: Any, dispatcher: CollectingDispatcher,
                                   tracker: Tracker, domain: DomainDict) -> Dict[str, Any]:
        """Check the phone ending against the dossier; count failures and lock the code."""
        if slot_value in (INVALID, LINKED):
            return {"phone_last4": slot_value}
        code = tracker.get_slot("dossier_code")
        given = find_last4(str(slot_value or ""))
        if not code or code == INVALID:
            return {"phone_last4": INVALID}
        if given is None:
            dispatcher.utter_message(response="utter_invalid_phone_last4")
            return {"phone_last4": None}
        settings = get_settings()
        try:
            record = await make_source(settings).get(code)
            with session_scope() as session:
                guard = VerificationGuard(session, settings.verify_max_attempts, settings.verify_lock_minutes)
                result = guard.check(code, given, record, sender_key(tracker))
        except (SourceUnavailable, SQLAlchemyError) as exc:
            logger.error("verification impossible: %s", exc)
            return {"phone_last4": UNAVAILABLE}
        if result.outcome == "ok":
            return {"phone_last4": given, "verified_code": code}
        if result.outcome == "locked":
            return {"phone_last4": LOCKED}
        dispatcher.utter_message(response="utter_verification_failed", remaining=result.remaining)
        return {"phone_last4": None}


def status_lines(domain: Dict[str, Any], record: DossierRecord, today: dt.date) -> Dict[str, Any]:
    """Variables of ``utter_dossier_status`` for a verified dossier."""
    unknown = fragment(domain, "utter_fragment_unknown")
    place = record.pickup_place or record.agency_name or unknown
    late = record.days_late(today)
    late_note = ""
    if late:
        late_note = fragment(domain, "utter_dossier_late", days_late=late)
        if record.new_appointment_date:
            late_note += fragment(domain, "utter_dossier_new_date",
                                  new_date=record.new_appointment_date.strftime("%d/%m/%Y"))
    fee = f"{record.fee_due_vnd:,}".replace(",", ".") + " đồng" if record.fee_due_vnd else unknown
    next_step = fragment(domain, f"utter_next_{record.status}", pickup_place=place, fee_due=fee,
                         missing_documents="; ".join(record.missing_documents) or unknown,
                         note=record.note or unknown)
    return {
        "dossier_code": record.code, "procedure_name": record.procedure_name,
        "status_text": fragment(domain, f"utter_status_{record.status}"),
        "appointment": record.appointment_date.strftime("%d/%m/%Y") if record.appointment_date else unknown,
        "late_note": late_note, "next_step": next_step,
    }


class ActionShowDossierStatus(Action):
    """After the form: the status of a verified dossier, or why it cannot be shown."""

    def name(self) -> str:
        """Action name."""
        return "action_show_dossier_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[EventType]:
        """Show the status and link the dossier to this chat user."""
        code = tracker.get_slot("dossier_code")
        proof = tracker.get_slot("phone_last4")
        reset = [SlotSet("dossier_code", None), SlotSet("phone_last4", None), SlotSet("invalid_code_count", 0)]
        settings = get_settings()
        if proof == INVALID or code in (None, INVALID):
            dispatcher.utter_message(response="utter_too_many_invalid_codes")
            return reset
        if proof == LOCKED:
            dispatcher.utter_message(response="utter_verification_locked", minutes=settings.verify_lock_minutes,
                                     hotline=hotline())
            return reset
        if proof == UNAVAILABLE:
            dispatcher.utter_message(response="utter_dossier_unavailable", hotline=hotline())
            return reset
        if proof != LINKED and tracker.get_slot("verified_code") != code:
            return reset  # never show anything unverified
        try:
            source = make_source(settings)
            record: Optional[DossierRecord] = await source.get(code)
            if record is None:
                dispatcher.utter_message(response="utter_verification_failed", remaining=0)
                return reset
            with session_scope() as session:
                if not isinstance(source, LocalDossierSource):
                    upsert_dossier(session, record)  # keep a local copy for links and reminders
                link_dossier(session, code, channel_of(tracker), tracker.sender_id)
        except (SourceUnavailable, SQLAlchemyError) as exc:
            logger.error("status lookup failed: %s", exc)
            dispatcher.utter_message(response="utter_dossier_unavailable", hotline=hotline())
            return reset
        dispatcher.utter_message(response="utter_dossier_status", **status_lines(domain, record, _today()))
        if proof != LINKED:
            dispatcher.utter_message(response="utter_dossier_linked")
        return reset + [SlotSet("verified_code", code), SlotSet("answered", True)]
