"""Dossier status: the dossier form (code, then phone ending) and the status answer."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.common import fragment, hotline, identity_of, latest_entity, sender_key
from actions.services import dossier_lookup
from bot.dossiers.service import DossierRecord
from bot.dossiers.sources import SourceUnavailable
from bot.settings import get_settings
from bot.text.codes import normalize_dossier_code
from bot.text.phone import find_last4

logger = logging.getLogger(__name__)

# Outcomes of the form, kept in the ``verification_result`` slot that only this module
# sets (custom mapping): they choose which apology to give, never whether to show.
INVALID, LOCKED, UNAVAILABLE, PRIVATE_ONLY, DONE = "invalid", "locked", "unavailable", "private_only", "done"
FILLED = "****"  # what the phone_last4 slot holds once the form no longer needs it (never the digits)
MAX_INVALID_CODES = 3
MAX_LISTED = 10  # linked dossiers listed at once (the newest links)


def _today() -> dt.date:
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo(get_settings().timezone)).date()


def _end(outcome: str, **extra: Any) -> Dict[str, Any]:
    """Slot values that end the form with ``outcome``."""
    return {"phone_last4": FILLED, "verification_result": outcome, **extra}


class ActionCheckStatus(Action):
    """A status question: linked dossiers at once, else the dossier form (slot ``status_route``)."""

    def name(self) -> str:
        """Action name."""
        return "action_check_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[EventType]:
        """Answer from the linked dossiers when the message names no code; otherwise ask via the form."""
        identity = identity_of(tracker)
        if identity is None or not identity.private:
            dispatcher.utter_message(response="utter_dossier_private_only")
            return [SlotSet("status_route", "answered")]
        code = normalize_dossier_code(latest_entity(tracker, "dossier_code") or "")
        if code:
            return [SlotSet("status_route", "form"), SlotSet("dossier_code", code)]
        try:
            records = await dossier_lookup().linked(identity, MAX_LISTED)
        except (SourceUnavailable, SQLAlchemyError) as exc:
            logger.error("linked dossiers unavailable: %s", type(exc).__name__)
            records = []
        if not records:
            return [SlotSet("status_route", "form")]
        today, line = _today(), hotline()
        if len(records) == 1:
            dispatcher.utter_message(response="utter_dossier_status",
                                     **status_lines(domain, records[0], today, line))
        else:
            lines = "\n".join(fragment(domain, "utter_my_dossier_line", **status_lines(domain, r, today, line))
                              for r in records)
            dispatcher.utter_message(response="utter_my_dossiers", count=len(records), lines=lines)
        return [SlotSet("status_route", "answered"), SlotSet("answered", True)]


class ValidateDossierForm(FormValidationAction):
    """Validates the dossier code, then verifies the phone ending within the budgets."""

    def name(self) -> str:
        """Action name."""
        return "validate_dossier_form"

    async def validate_dossier_code(self, slot_value: Any, dispatcher: CollectingDispatcher,
                                    tracker: Tracker, domain: DomainDict) -> Dict[str, Any]:
        """Accept a well-formed code (any spacing/case); after 3 bad ones stop asking."""
        identity = identity_of(tracker)
        if identity is None or not identity.private:
            return {"dossier_code": normalize_dossier_code(str(slot_value or "")) or INVALID,
                    **_end(PRIVATE_ONLY)}
        code = normalize_dossier_code(str(slot_value or ""))
        if code is None:
            count = int(tracker.get_slot("invalid_code_count") or 0) + 1
            if count >= MAX_INVALID_CODES:
                return {"dossier_code": INVALID, "invalid_code_count": 0, **_end(INVALID)}
            dispatcher.utter_message(response="utter_invalid_dossier_code")
            return {"dossier_code": None, "invalid_code_count": count}
        try:
            known = dossier_lookup().may_view(code, identity)
        except SQLAlchemyError:
            logger.warning("link lookup failed; asking for verification")
            known = False
        if known:  # linked earlier, or verified in this conversation: no need to ask again
            return {"dossier_code": code, "invalid_code_count": 0, **_end(DONE)}
        return {"dossier_code": code, "invalid_code_count": 0, "verification_result": None}

    async def validate_phone_last4(self, slot_value: Any, dispatcher: CollectingDispatcher,
                                   tracker: Tracker, domain: DomainDict) -> Dict[str, Any]:
        """Check the phone ending against the dossier within the guessing budgets."""
        code = tracker.get_slot("dossier_code")
        if not code or normalize_dossier_code(str(code)) != code:
            return {"dossier_code": INVALID, **_end(INVALID)}
        if tracker.get_slot("verification_result") in (DONE, PRIVATE_ONLY, INVALID):
            return _end(tracker.get_slot("verification_result"))  # set by validate_dossier_code this turn
        given = find_last4(str(slot_value or ""))
        if given is None:
            dispatcher.utter_message(response="utter_invalid_phone_last4")
            return {"phone_last4": None}
        try:
            result = await dossier_lookup().verify(code, given, sender_key(tracker))
        except (SourceUnavailable, SQLAlchemyError) as exc:
            logger.error("verification impossible: %s", type(exc).__name__)
            return _end(UNAVAILABLE)
        if result.outcome == "ok":
            return _end(DONE)
        if result.outcome == "locked":
            return _end(LOCKED, lock_minutes=result.locked_minutes)
        dispatcher.utter_message(response="utter_verification_failed", remaining=result.remaining)
        return {"phone_last4": None}


def _date(day: Optional[dt.date]) -> str:
    return day.strftime("%d/%m/%Y") if day else ""


def status_lines(domain: Dict[str, Any], record: DossierRecord, today: dt.date, hotline: str = "") -> Dict[str, Any]:
    """Variables of ``utter_dossier_status`` for a dossier the person may see, as of ``today``.

    An open dossier whose appointment date has passed is said to be late, with the
    apology and the new date when the one-stop system gave one; if the citizen has
    nothing to do (received / in progress) the next step says what they can do instead
    of "wait for the appointment date".
    """
    unknown = fragment(domain, "utter_fragment_unknown")
    place = record.pickup_place or record.agency_name or unknown
    overdue = record.overdue_days(today)
    rescheduled = record.new_appointment_date is not None and record.new_appointment_date >= today
    late_note = ""
    if overdue:
        late_note = fragment(domain, "utter_dossier_late", days_late=overdue)
        if record.new_appointment_date:
            late_note += fragment(domain, "utter_dossier_new_date", new_date=_date(record.new_appointment_date))
    fee = f"{record.fee_due_vnd:,}".replace(",", ".") + " đồng" if record.fee_due_vnd else unknown
    step = f"utter_next_{record.status}"
    if overdue and record.status in {"received", "in_progress"}:
        step = "utter_next_late_rescheduled" if rescheduled else "utter_next_late"
    next_step = fragment(domain, step, pickup_place=place, fee_due=fee,
                         missing_documents="; ".join(record.missing_documents) or unknown,
                         note=record.note or unknown, agency=record.agency_name or place,
                         new_date=_date(record.new_appointment_date), hotline=hotline)
    return {
        "dossier_code": record.code, "procedure_name": record.procedure_name,
        "status_text": fragment(domain, f"utter_status_{record.status}"),
        "appointment": _date(record.appointment_date) or unknown,
        "late_note": late_note, "next_step": next_step,
    }


class ActionShowDossierStatus(Action):
    """After the form: the status of a dossier this person may see, or why it cannot be shown."""

    def name(self) -> str:
        """Action name."""
        return "action_show_dossier_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[EventType]:
        """Show the status (re-checking who may see it, from the database) and link the dossier."""
        code = tracker.get_slot("dossier_code")
        outcome = tracker.get_slot("verification_result")
        reset = [SlotSet("dossier_code", None), SlotSet("phone_last4", None), SlotSet("invalid_code_count", 0),
                 SlotSet("verification_result", None), SlotSet("lock_minutes", None)]
        settings = get_settings()
        identity = identity_of(tracker)
        if identity is None or not identity.private or outcome == PRIVATE_ONLY:
            dispatcher.utter_message(response="utter_dossier_private_only")
            return reset
        if outcome == INVALID or not code or normalize_dossier_code(str(code)) != code:
            dispatcher.utter_message(response="utter_too_many_invalid_codes")
            return reset
        if outcome == LOCKED:
            minutes = int(tracker.get_slot("lock_minutes") or settings.verify_lock_minutes)
            dispatcher.utter_message(response="utter_verification_locked", minutes=minutes, hotline=hotline())
            return reset
        if outcome == UNAVAILABLE:
            dispatcher.utter_message(response="utter_dossier_unavailable", hotline=hotline())
            return reset
        try:
            shown = await dossier_lookup().show(code, identity)
        except (SourceUnavailable, SQLAlchemyError) as exc:
            logger.error("status lookup failed: %s", type(exc).__name__)
            dispatcher.utter_message(response="utter_dossier_unavailable", hotline=hotline())
            return reset
        if not shown.allowed:
            return reset  # never show anything unverified, whatever the slots say
        if shown.record is None:
            dispatcher.utter_message(response="utter_dossier_unavailable", hotline=hotline())
            return reset
        dispatcher.utter_message(response="utter_dossier_status",
                                 **status_lines(domain, shown.record, _today(), hotline()))
        if not shown.was_linked:
            dispatcher.utter_message(response="utter_dossier_linked")
        return reset + [SlotSet("verified_code", code), SlotSet("answered", True)]
