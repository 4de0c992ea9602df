"""Rendering one aspect of a procedure as a short answer that fits a phone screen.

The fact asked for comes first; the legal basis is one short line (the first
``LEGAL_SHOWN`` instruments) and long document lists show ``DOCUMENTS_SHOWN`` items, the
rest behind a button or a follow-up ("căn cứ pháp lý?", "xem tất cả giấy tờ"). Every
sentence comes from the domain's responses and fragments.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Protocol, Sequence, Tuple

from actions.common import fragment

LEGAL_SHOWN = 2
DOCUMENTS_SHOWN = 4
LEGAL_ITEM_CHARS = 90
FIGURE_CHARS = 240  # a fee or duration text longer than this is cut (the rest is in the source)
SCREEN_COLUMNS = 40  # characters per line on a phone screen, for measuring
# Which unconfirmed record fields matter for which answer.
ASPECT_FIELDS = {
    "overview": {"code", "steps", "agency"}, "documents": {"documents"}, "fee": {"fee"},
    "duration": {"duration"}, "place": {"agency", "submit_place"}, "online": {"online_level", "online_url"},
    "legal": set(),
}


class ProcedureFacts(Protocol):
    """What an answer reads of a procedure (as :class:`~bot.catalogue.service.CatalogueService` returns it)."""

    code: str
    name: str
    agency: str
    competent_agency: Optional[str]
    level: str
    origin: str  # "curated" (verified by staff) | "national" (machine-read from the snapshot)
    submit_place: Optional[str]
    online_level: str
    online_url: Optional[str]
    steps: List[str]
    legal_basis: List[str]
    unconfirmed: List[str]
    source: str
    checked_on: Any  # a date
    field: Any  # its ``name``
    channels: Sequence[Any]  # each with ``kind``, ``fee``, ``fee_doubtful``, ``duration``
    documents: Sequence[Any]  # each with ``name``, ``kind``, ``original``, ``copy``, ``template``


def shorten(text: str, limit: int) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters (with an ellipsis)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit - 1].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"


# "Nghị định 123/2015/NĐ-CP (sửa đổi ...)" -> "Nghị định 123/2015/NĐ-CP"
_CITATION_RE = re.compile(r"^((?:Bộ luật|Luật|Nghị định|Nghị quyết|Thông tư(?: liên tịch)?|Quyết định)\b.*?"
                          r"\d+/(?:\d{4}/)?[^\W\d][\wĐđ-]*)", re.IGNORECASE)


def citation(item: str) -> str:
    """The short citation of a legal instrument (its kind and number), else the item shortened."""
    found = _CITATION_RE.match(item.strip())
    return found.group(1) if found and len(found.group(1)) <= LEGAL_ITEM_CHARS else shorten(item, LEGAL_ITEM_CHARS)


def _channel_name(domain: Dict[str, Any], kind: str) -> str:
    return fragment(domain, f"utter_fragment_channel_{kind}") or kind


def _value(domain: Dict[str, Any], channel: Any, attribute: str) -> str:
    """A channel's fee or duration as the answer may quote it (a doubtful fee is never a number)."""
    if attribute == "fee" and getattr(channel, "fee_doubtful", False):
        return fragment(domain, "utter_fragment_fee_doubtful")
    return shorten(getattr(channel, attribute) or fragment(domain, "utter_fragment_unknown"), FIGURE_CHARS)


def _by_channel(domain: Dict[str, Any], proc: ProcedureFacts, attribute: str) -> str:
    """One line per distinct value, naming every channel that has it."""
    groups: Dict[str, List[str]] = {}
    for channel in proc.channels:
        groups.setdefault(_value(domain, channel, attribute), []).append(_channel_name(domain, channel.kind))
    return "\n".join(fragment(domain, "utter_fragment_channel_line", channel=", ".join(names), value=value)
                     for value, names in groups.items())


def _documents(domain: Dict[str, Any], proc: ProcedureFacts, full: bool) -> Tuple[str, str, int]:
    """Document lines (to submit first, then to show), the templates note, and how many were left out."""
    # what everyone brings first; papers needed only in some cases ("nếu ...") last
    ordered = sorted(proc.documents, key=lambda d: ("(nếu" in d.name.lower() or d.name.lower().startswith("nếu"),
                                                    d.kind == "show"))
    shown = ordered if full else ordered[:DOCUMENTS_SHOWN]
    lines, templates = [], []
    for doc in shown:
        if doc.kind == "show":
            lines.append(fragment(domain, "utter_fragment_doc_show", name=doc.name))
            continue
        counts = []
        if doc.original:
            counts.append(fragment(domain, "utter_fragment_count_original", n=doc.original))
        if doc.copy:
            counts.append(fragment(domain, "utter_fragment_count_copy", n=doc.copy))
        lines.append(fragment(domain, "utter_fragment_doc_submit", name=doc.name, counts=", ".join(counts)))
        if doc.template:
            templates.append(doc.template)
    left = len(ordered) - len(shown)
    if left:
        lines.append(fragment(domain, "utter_fragment_more_documents", n=left))
    note = fragment(domain, "utter_fragment_templates", templates="; ".join(templates)) if templates else ""
    return "\n".join(lines) or fragment(domain, "utter_fragment_unknown"), note, left


def legal_line(domain: Dict[str, Any], proc: ProcedureFacts) -> str:
    """The main instruments in one short line, and how many more there are."""
    items = list(proc.legal_basis or [])
    if not items:
        return fragment(domain, "utter_fragment_unknown")
    line = "; ".join(citation(i) for i in items[:LEGAL_SHOWN])
    if len(items) > LEGAL_SHOWN:
        line += fragment(domain, "utter_fragment_more_legal", n=len(items) - LEGAL_SHOWN)
    return line


def render_answer(domain: Dict[str, Any], proc: ProcedureFacts, aspect: str,
                  full: bool = False) -> Tuple[str, Dict[str, Any]]:
    """Response name and its variables for one aspect of a procedure (``full``: nothing left out)."""
    unknown = fragment(domain, "utter_fragment_unknown")
    agency = proc.agency or proc.competent_agency or unknown
    common = {
        "procedure_name": proc.name,
        "procedure_code": proc.code, "agency": agency,
        "submit_place": proc.submit_place or agency, "online_url": proc.online_url or "",
        "legal_basis": legal_line(domain, proc),
    }
    if aspect == "legal":
        items = "\n".join(fragment(domain, "utter_fragment_legal_item", item=i) for i in proc.legal_basis or [])
        return "utter_procedure_legal", {**common, "legal_items": items or unknown}
    if aspect == "documents":
        docs, note, left = _documents(domain, proc, full)
        return "utter_procedure_documents", {**common, "documents": docs, "template_note": note,
                                             "more_documents": left}
    if aspect == "fee":
        return "utter_procedure_fee", {**common, "fees": _by_channel(domain, proc, "fee")}
    if aspect == "duration":
        return "utter_procedure_duration", {**common, "durations": _by_channel(domain, proc, "duration")}
    if aspect == "place":
        channels = ", ".join(_channel_name(domain, c.kind) for c in proc.channels)
        return "utter_procedure_place", {**common, "channels": channels}
    if aspect == "online":
        return f"utter_procedure_online_{proc.online_level}", common
    steps = "\n".join(proc.steps) or unknown
    return "utter_procedure_overview", {
        **common, "steps": steps, "field_name": proc.field.name if proc.field else unknown,
        "level_name": fragment(domain, f"utter_fragment_level_{proc.level}") or unknown,
    }


def screen_lines(text: str, columns: int = SCREEN_COLUMNS) -> int:
    """Lines ``text`` takes on a phone screen of ``columns`` characters."""
    return sum(max(1, -(-len(line) // columns)) for line in text.split("\n"))


def unconfirmed_labels(domain: Dict[str, Any], proc: ProcedureFacts, aspect: str) -> List[str]:
    """Names of the figures of this answer that nobody has confirmed."""
    relevant = [f for f in (proc.unconfirmed or []) if f in ASPECT_FIELDS.get(aspect, set())]
    return [fragment(domain, f"utter_fragment_field_{f}") or f for f in relevant]
