"""Actions answering questions about procedures (documents, fee, duration, place, online, steps)."""

from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import quote_plus

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.answers import LEGAL_SHOWN, ProcedureFacts, render_answer, unconfirmed_labels
from actions.common import fragment, hotline, latest_entity
from actions.contact import answer_contact
from bot.catalogue.query import topic
from bot.catalogue.service import CatalogueService, Match
from bot.db.session import read_scope
from bot.settings import get_settings
from bot.text.normalize import fold

logger = logging.getLogger(__name__)

ASPECT_BY_INTENT = {
    "ask_procedure": "overview", "ask_documents": "documents", "ask_fee": "fee",
    "ask_duration": "duration", "ask_place": "place", "ask_online": "online",
}
CODE_RE = re.compile(r"^\d\.\d{6}$")
OFFERED = "offered_procedures"  # slot: codes of the choice buttons last shown
WORD_RE = re.compile(r"[^\W\d_]{2,}")  # a word of two letters or more: a lone "5" or "?" names nothing
QUOTED_WORDS = 6  # a topic longer than this is a whole question: not quoted back as a procedure name


LEGAL_RE = re.compile(r"\b(can cu|phap ly|van ban phap luat|nghi dinh|thong tu|luat nao|quy dinh nao)\b")
CONTACT_RE = re.compile(r"\b(mot cua|so dien thoai|sdt|hotline|duong day nong|tong dai|dia chi|email|gio lam viec"
                        r"|trung tam phuc vu|ubnd|uy ban)\b")
ALL_RE = re.compile(r"\b(tat ca|day du|toan bo|het cac|xem het|xem them)\b")


def _asks_legal_basis(tracker: Tracker) -> bool:
    """The "Căn cứ pháp lý" button, or a typed "căn cứ pháp lý?" / "theo nghị định nào"."""
    if latest_entity(tracker, "detail") == "legal":
        return True
    text = tracker.latest_message.get("text") or ""
    return not text.startswith("/") and bool(LEGAL_RE.search(fold(text.lower())))


def _wants_everything(tracker: Tracker) -> bool:
    """The "Xem tất cả" button, or a typed "tất cả giấy tờ" / "đầy đủ"."""
    if latest_entity(tracker, "detail") == "all":
        return True
    text = tracker.latest_message.get("text") or ""
    return not text.startswith("/") and bool(ALL_RE.search(fold(text.lower())))


def _more_buttons(domain: Dict[str, Any], proc: ProcedureFacts, aspect: str,
                  values: Dict[str, Any]) -> List[Dict[str, str]]:
    """Buttons for what a short answer left out: every document, the full legal basis."""
    buttons = []
    if aspect == "documents" and values.get("more_documents"):
        buttons.append({"title": fragment(domain, "utter_fragment_button_all_documents"),
                        "payload": f'/ask_documents{{"procedure":"{proc.code}","detail":"all"}}'})
    if aspect != "legal" and len(proc.legal_basis or []) > LEGAL_SHOWN and values.get("legal_basis"):
        buttons.append({"title": fragment(domain, "utter_fragment_button_legal"),
                        "payload": f'/ask_procedure{{"procedure":"{proc.code}","detail":"legal"}}'})
    return buttons


def portal_search_url(query: str) -> str:
    """The national public-service portal's procedure search (with the words where it takes them)."""
    template = get_settings().national_portal_search_url
    return template.replace("{query}", quote_plus(query)) if "{query}" in template else template


def _place_span(tracker: Tracker) -> str:
    text = tracker.latest_message.get("text") or ""
    for ent in tracker.latest_message.get("entities") or []:
        if ent.get("entity") == "place" and isinstance(ent.get("start"), int) and isinstance(ent.get("end"), int):
            return text[ent["start"]:ent["end"]]
    return ""


def resolve_procedure(service: CatalogueService, tracker: Tracker) -> Tuple[Optional[str], List[Match], str]:
    """Procedure code from the entity, the message text or the context; plus candidates and the query.

    The procedure in context answers only a bare follow-up ("còn lệ phí thì sao?"): a
    message naming something the catalogue lacks gets "not found", never the facts of
    the previous procedure. A bare question with no procedure in context ("lệ phí bn?")
    names nothing to search for: the caller asks which procedure (the words of the
    question itself would find procedures *about* fees or results).
    """
    entity = latest_entity(tracker, "procedure")
    text = tracker.latest_message.get("text") or ""
    own = topic(text, without=_place_span(tracker), joined=service.index().names_pair)
    own = own if WORD_RE.search(own) else ""
    known = entity if entity and CODE_RE.match(entity) else None
    context = tracker.get_slot("procedure")
    if not own and not entity:
        if context and service.get(context):
            return context, [], context  # a bare follow-up: nothing of its own to search for
        return None, [], ""
    queries = [q for q in (None if known else entity, text) if q and not q.startswith("/")]
    code, matches = service.resolve(*queries, known_code=known, topic=own)
    if code or matches:
        return code, matches, entity or own or text
    return None, [], entity or own


class ActionAnswerProcedure(Action):
    """Answer exactly the aspect asked about a procedure, keeping it as context for follow-ups."""

    def name(self) -> str:
        """Action name."""
        return "action_answer_procedure"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[EventType]:
        """Find the procedure, then utter the answer for the asked aspect."""
        return answer_procedure(dispatcher, tracker, domain, asked_aspect(tracker))


def asked_aspect(tracker: Tracker) -> str:
    """The aspect the latest message asks about: its intent's, else the one asked before, else an overview."""
    if _asks_legal_basis(tracker):
        return "legal"
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    return ASPECT_BY_INTENT.get(intent) or tracker.get_slot("pending_aspect") or "overview"


def answer_procedure(dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any],
                     aspect: str) -> List[EventType]:
    """Utter the answer about ``aspect`` of the procedure the message (or its context) names."""
    try:
        with read_scope() as session:
            service = CatalogueService(session)
            code, matches, query = resolve_procedure(service, tracker)
            if code is None and (not matches or matches[0].score < 1.0) and CONTACT_RE.search(
                    fold((tracker.latest_message.get("text") or "").lower())):
                return answer_contact(dispatcher, tracker, domain)  # "một cửa xã X ở đâu": a desk, not a procedure
            if code is None and not matches and not query:  # "mất bao lâu?" after the choice buttons
                matches = _offered(service, tracker)
            if code is None and matches:
                offered = matches[:3]
                # not found for sure: say so (with the hotline) before offering the nearest ones
                extra = {"portal_url": portal_search_url(query or ""), "hotline": hotline()} \
                    if offered[0].tentative else {}
                dispatcher.utter_message(response="utter_procedure_maybe" if extra else "utter_procedure_choose",
                                         **extra, buttons=[
                    {"title": m.name, "payload": f'/inform{{"procedure":"{m.code}"}}'} for m in offered
                ])
                # the choice replaces the procedure in context: a bare follow-up must not answer the old one
                return [SlotSet("pending_aspect", aspect), SlotSet("procedure", None),
                        SlotSet(OFFERED, [m.code for m in offered])]
            if code is None:
                if query and fold(query).strip():
                    # a name is quoted back; a whole question ("xe nhà em nằm gara ...") is not
                    response = "utter_procedure_not_found" if len(query.split()) <= QUOTED_WORDS \
                        else "utter_procedure_not_found_question"
                    dispatcher.utter_message(response=response, query=query,
                                             portal_url=portal_search_url(query), hotline=hotline())
                    return [SlotSet("pending_aspect", None), SlotSet("procedure", None), SlotSet(OFFERED, None)]
                dispatcher.utter_message(response="utter_ask_which_procedure")
                return [SlotSet("pending_aspect", aspect)]
            proc = service.get(code)
            assert proc is not None
            response, values = render_answer(domain, proc, aspect, full=_wants_everything(tracker))
            dispatcher.utter_message(response=response, buttons=_more_buttons(domain, proc, aspect, values),
                                     **values)
            _provenance(dispatcher, domain, proc, aspect)
    except SQLAlchemyError:
        logger.exception("catalogue unavailable")
        dispatcher.utter_message(response="utter_dossier_unavailable", hotline=hotline())
        return []
    return [SlotSet("procedure", code), SlotSet("pending_aspect", None), SlotSet(OFFERED, None),
            SlotSet("answered", True)]


def _offered(service: CatalogueService, tracker: Tracker) -> List[Match]:
    """The procedures last offered as buttons and not chosen yet (still in the catalogue), to offer again."""
    codes = tracker.get_slot(OFFERED)
    if not isinstance(codes, list):
        return []
    found = [(code, service.get(code)) for code in codes[:3] if isinstance(code, str)]
    return [Match(code, proc.name, 0.0) for code, proc in found if proc is not None]


def _provenance(dispatcher: CollectingDispatcher, domain: Dict[str, Any], proc: ProcedureFacts, aspect: str) -> None:
    """Where the figures come from: a machine-read record says so with its source, date and the hotline."""
    checked_on = proc.checked_on.strftime("%d/%m/%Y")
    if proc.origin == "national":
        if aspect != "legal":
            dispatcher.utter_message(response="utter_procedure_unconfirmed_national", source=proc.source,
                                     checked_on=checked_on, hotline=hotline())
        return
    labels = unconfirmed_labels(domain, proc, aspect)
    if labels:
        dispatcher.utter_message(response="utter_procedure_unconfirmed", items=", ".join(labels))
    if aspect == "overview":
        dispatcher.utter_message(response="utter_procedure_source", source=proc.source, checked_on=checked_on)


LEVEL_WORDS = {"commune": ("cap xa", "cap phuong", "ubnd xa", "o xa"), "province": ("cap tinh", "o tinh")}


class ActionSearchProcedures(Action):
    """List procedures of a field or level, a page at a time ("Xem tiếp" shows the next page)."""

    def name(self) -> str:
        """Action name."""
        return "action_search_procedures"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[EventType]:
        """Resolve the scope from entities/text, then show one page."""
        raw = tracker.latest_message.get("text") or ""
        text = fold(raw.lower())
        field_text = latest_entity(tracker, "field")
        level = next((lvl for lvl, words in LEVEL_WORDS.items() if any(w in text for w in words)), None)
        previous = tracker.get_slot("search_scope")
        next_page = raw.strip().startswith("/search_procedures") and not field_text  # the "Xem tiếp" button
        try:
            with read_scope() as session:
                service = CatalogueService(session)
                field = service.find_field(field_text or raw) if not next_page else None
                if field or level:
                    parts = {k: v for k, v in (("field", field.name if field else None), ("level", level)) if v}
                    scope, page = "|".join(f"{k}:{v}" for k, v in parts.items()), 1
                elif next_page and previous:
                    scope, page = previous, int(tracker.get_slot("search_page") or 0) + 1
                elif field_text:
                    dispatcher.utter_message(response="utter_search_empty", scope=field_text)
                    return []
                elif topic(raw):  # "thủ tục làm hộ chiếu": a procedure named, not a field
                    return answer_procedure(dispatcher, tracker, domain, "overview")
                else:
                    dispatcher.utter_message(response="utter_search_ask_field")
                    return []
                return self._show(dispatcher, domain, service, scope, max(page, 1))
        except SQLAlchemyError:
            logger.exception("catalogue unavailable")
            dispatcher.utter_message(response="utter_dossier_unavailable", hotline=hotline())
            return []

    @staticmethod
    def _show(dispatcher: CollectingDispatcher, domain: Dict[str, Any], service: CatalogueService,
              scope: str, page: int) -> List[EventType]:
        parts = dict(p.split(":", 1) for p in scope.split("|"))
        field = service.find_field(parts["field"]) if "field" in parts else None
        procs, pages = service.list_procedures(field.id if field else None, parts.get("level"), page)
        labels = []
        if "field" in parts:
            labels.append(fragment(domain, "utter_fragment_scope_field", field=parts["field"]))
        if "level" in parts:
            labels.append(fragment(domain, f"utter_fragment_level_{parts['level']}"))
        label = " ".join(labels)
        if not procs:
            dispatcher.utter_message(response="utter_search_empty", scope=label)
            return [SlotSet("search_scope", None), SlotSet("search_page", 0)]
        page = min(page, pages)
        items = "\n".join(fragment(domain, "utter_fragment_search_item", name=p.name, code=p.code) for p in procs)
        buttons = [{"title": p.name[:60], "payload": f'/ask_procedure{{"procedure":"{p.code}"}}'} for p in procs[:5]]
        dispatcher.utter_message(response="utter_search_results", scope=label, page=page, pages=pages,
                                 items=items, buttons=buttons)
        if page < pages:
            dispatcher.utter_message(response="utter_search_more")
        return [SlotSet("search_scope", scope), SlotSet("search_page", page if page < pages else 0),
                SlotSet("answered", True)]
