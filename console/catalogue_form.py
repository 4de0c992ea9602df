"""The procedure edit form of the console ↔ a record of the curated format (the importer validates it)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Optional, Tuple

from starlette.datastructures import FormData

MAX_ROWS = 200  # channels or documents in one form


def _text(form: FormData, key: str) -> Optional[str]:
    value = form.get(key)
    if not isinstance(value, str):
        return None
    value = value.replace("\r\n", "\n").strip()
    return value or None


def _lines(form: FormData, key: str) -> List[str]:
    return [line.strip() for line in (_text(form, key) or "").split("\n") if line.strip()]


def _column(form: FormData, key: str) -> List[str]:
    return [v.replace("\r\n", "\n").strip() if isinstance(v, str) else "" for v in form.getlist(key)][:MAX_ROWS]


def _whole(value: str, label: str, row: int, problems: List[str]) -> Optional[int]:
    if not value:
        return None
    try:
        number = int(value.replace(".", "").replace(" ", ""))
    except ValueError:
        number = -1
    if number < 0:
        problems.append(f"{label} ở dòng {row} phải là số nguyên không âm.")
        return None
    return number


def record_from_form(form: FormData) -> Tuple[Dict[str, Any], List[str]]:
    """The record the form describes, and the problems of cells that are not numbers.

    Channel rows whose kind is empty and document rows whose name is empty are dropped (that is how
    a row is removed; the empty row at the end adds one).
    """
    problems: List[str] = []
    record: Dict[str, Any] = {key: _text(form, key) for key in (
        "name", "field", "level", "agency", "submit_place", "conditions", "result", "online_level", "online_url",
        "notes")}
    record.update(aliases=_lines(form, "aliases"), steps=_lines(form, "steps"),
                  legal_basis=_lines(form, "legal_basis"),
                  unconfirmed=[u.strip() for u in (_text(form, "unconfirmed") or "").replace("\n", ",").split(",")
                               if u.strip()])
    columns = {k: _column(form, f"ch_{k}") for k in ("kind", "duration", "duration_days", "fee", "fee_vnd",
                                                      "fee_status", "fee_doubtful", "note")}
    channels = []
    for row, kind in enumerate(columns["kind"], start=1):
        if not kind:
            continue
        cell = {k: (v[row - 1] if row - 1 < len(v) else "") for k, v in columns.items()}
        channel: Dict[str, Any] = {
            "kind": kind, "duration": cell["duration"] or None, "fee": cell["fee"] or None,
            "duration_days": _whole(cell["duration_days"], "Số ngày", row, problems),
            "fee_vnd": _whole(cell["fee_vnd"], "Lệ phí (đồng)", row, problems)}
        if cell["fee_status"]:
            channel["fee_status"] = cell["fee_status"]
        if cell["fee_doubtful"] == "1":
            channel["fee_doubtful"] = True
        if cell["note"]:
            channel["note"] = cell["note"]
        channels.append(channel)
    columns = {k: _column(form, f"doc_{k}") for k in ("name", "kind", "original", "copy", "template", "group")}
    documents = []
    for row, name in enumerate(columns["name"], start=1):
        if not name:
            continue
        cell = {k: (v[row - 1] if row - 1 < len(v) else "") for k, v in columns.items()}
        document: Dict[str, Any] = {
            "name": name, "kind": cell["kind"] or None,
            "original": _whole(cell["original"], "Bản chính", row, problems) or 0,
            "copy": _whole(cell["copy"], "Bản sao", row, problems) or 0, "template": cell["template"] or None}
        if cell["group"]:
            document["group"] = cell["group"]
        documents.append(document)
    record.update(channels=channels, documents=documents)
    return record, problems


def parse_date(value: Any) -> Optional[dt.date]:
    """A ``YYYY-MM-DD`` form value as a date (None when empty or malformed)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        return None
