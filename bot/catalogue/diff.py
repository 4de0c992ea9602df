"""A readable difference between two versions of a procedure record (for the history page)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from bot.catalogue.problems import CHANNEL_NAMES, LABELS

LEVEL_NAMES = {"central": "Trung ương", "province": "Cấp tỉnh", "commune": "Cấp xã", "unknown": "Chưa rõ"}
ONLINE_NAMES = {"full": "Toàn trình", "partial": "Một phần", "none": "Không trực tuyến"}
CHANNEL_LABELS = {"duration": "Thời hạn", "duration_days": "Số ngày", "fee": "Lệ phí", "fee_vnd": "Lệ phí (đồng)",
                  "fee_status": "Tình trạng lệ phí", "fee_doubtful": "Lệ phí đáng ngờ", "note": "Trường hợp"}
SCALARS = ("name", "field", "level", "agency", "submit_place", "conditions", "result", "online_level", "online_url",
           "notes", "source", "checked_on")
LISTS = ("aliases", "steps", "legal_basis", "unconfirmed")
DOC_KINDS = {"submit": "nộp", "show": "xuất trình"}


@dataclass(frozen=True)
class DiffLine:
    """One changed value: what it is, before and after ("" when absent)."""

    label: str
    before: str
    after: str


def _text(key: str, value: Any) -> str:
    if value in (None, ""):
        return ""
    if key == "level":
        return LEVEL_NAMES.get(value, str(value))
    if key == "online_level":
        return ONLINE_NAMES.get(value, str(value))
    if key == "checked_on":
        try:
            return dt.date.fromisoformat(str(value)).strftime("%d/%m/%Y")
        except ValueError:
            return str(value)
    if isinstance(value, bool):
        return "có" if value else ""
    return str(value)


def document_text(doc: Dict[str, Any]) -> str:
    """One document as a line: name (submit/show, originals, copies, template, case)."""
    parts = [DOC_KINDS.get(doc.get("kind"), str(doc.get("kind")))]
    if doc.get("original"):
        parts.append(f"{doc['original']} bản chính")
    if doc.get("copy"):
        parts.append(f"{doc['copy']} bản sao")
    if doc.get("template"):
        parts.append(f"mẫu: {doc['template']}")
    if doc.get("group"):
        parts.append(f"trường hợp: {doc['group']}")
    return f"{doc.get('name')} ({'; '.join(parts)})"


def _channels(record: Optional[Dict[str, Any]]) -> Dict[Tuple[str, int], Dict[str, Any]]:
    found: Dict[Tuple[str, int], Dict[str, Any]] = {}
    counts: Dict[str, int] = {}
    for ch in (record or {}).get("channels") or []:
        kind = ch.get("kind", "?")
        found[(kind, counts.get(kind, 0))] = ch
        counts[kind] = counts.get(kind, 0) + 1
    return found


def _summary(channel: Optional[Dict[str, Any]]) -> str:
    return "" if channel is None else f"{channel.get('duration') or ''}; {channel.get('fee') or ''}"


def _list_lines(label: str, old: List[str], new: List[str]) -> List[DiffLine]:
    if old == new:
        return []
    removed = [x for x in old if x not in new]
    added = [x for x in new if x not in old]
    if not removed and not added:
        return [DiffLine(f"{label} (thứ tự)", "\n".join(old), "\n".join(new))]
    return [DiffLine(label, "\n".join(removed), "\n".join(added))]


def diff_records(before: Optional[Dict[str, Any]], after: Dict[str, Any]) -> List[DiffLine]:
    """What changed from ``before`` (None: the record is new) to ``after``, field by field."""
    old = before or {}
    lines: List[DiffLine] = []
    for key in SCALARS:
        if _text(key, old.get(key)) != _text(key, after.get(key)):
            lines.append(DiffLine(LABELS[key], _text(key, old.get(key)), _text(key, after.get(key))))
    for key in LISTS:
        lines += _list_lines(LABELS[key], [str(x) for x in old.get(key) or []], [str(x) for x in after.get(key) or []])
    old_ch, new_ch = _channels(before), _channels(after)
    for slot in list(old_ch) + [s for s in new_ch if s not in old_ch]:
        kind, index = slot
        where = CHANNEL_NAMES.get(kind, kind) + (f" {index + 1}" if index else "")
        a, b = old_ch.get(slot), new_ch.get(slot)
        if a is None or b is None:
            lines.append(DiffLine(f"Cách nộp {where}", _summary(a), _summary(b)))
            continue
        for attr, label in CHANNEL_LABELS.items():
            if _text(attr, a.get(attr)) != _text(attr, b.get(attr)):
                lines.append(DiffLine(f"{label} ({where})", _text(attr, a.get(attr)), _text(attr, b.get(attr))))
    lines += _list_lines(LABELS["documents"], [document_text(d) for d in old.get("documents") or []],
                         [document_text(d) for d in after.get("documents") or []])
    return lines
