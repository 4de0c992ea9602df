"""Validation of dossier records pushed by the one-stop system or read from an import file (no HTTP).

Every known field's JSON type and size is checked before anything reaches the database;
a wrong field raises :class:`PushFieldError` naming it (the push endpoint answers 422).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Dict, List

from bot.db.models import Dossier
from bot.dossiers.service import DossierRecord


class PushFieldError(ValueError):
    """A dossier field of the wrong JSON type or size (the push endpoint answers 422 naming it)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


_REQUIRED_TEXT = ("code", "procedure_name", "status")
_OPTIONAL_TEXT = ("procedure_code", "applicant_name", "applicant_phone", "agency_name", "pickup_place", "note")
_DATES = {"appointment_date": dt.date.fromisoformat, "new_appointment_date": dt.date.fromisoformat,
          "received_at": dt.datetime.fromisoformat, "completed_at": dt.datetime.fromisoformat}
MAX_FEE_VND = 2**31 - 1  # the column is a 32-bit INTEGER


def check_dossier_fields(item: Dict[str, Any], where: str = "") -> None:
    """Check the JSON type of every known dossier field (unknown fields are ignored).

    Raises:
        PushFieldError: naming the first wrongly typed field.
    """
    for name in _REQUIRED_TEXT:
        if name in item and not isinstance(item[name], str):
            raise PushFieldError(f"{where}{name} must be a string", name)
    for name in _OPTIONAL_TEXT:
        if item.get(name) is not None and not isinstance(item[name], str):
            raise PushFieldError(f"{where}{name} must be a string or null", name)
    for name, parse in _DATES.items():
        value = item.get(name)
        if value is None or value == "":
            continue
        try:
            if not isinstance(value, str):
                raise TypeError(name)
            parse(value)
        except (TypeError, ValueError) as exc:
            kind = "datetime" if name.endswith("_at") else "date"
            raise PushFieldError(f"{where}{name} must be an ISO {kind} string or null", name) from exc
    docs = item.get("missing_documents")
    if docs is not None and not (isinstance(docs, list) and all(isinstance(d, str) for d in docs)):
        raise PushFieldError(f"{where}missing_documents must be a list of strings", "missing_documents")
    fee = item.get("fee_due_vnd")
    if fee is not None:
        whole = isinstance(fee, int) and not isinstance(fee, bool)
        digits = isinstance(fee, str) and fee.isascii() and fee.strip().isdigit()
        if not (whole or digits) or not 0 <= int(fee) <= MAX_FEE_VND:
            raise PushFieldError(f"{where}fee_due_vnd must be a whole number of dong from 0 to {MAX_FEE_VND}",
                                 "fee_due_vnd")


def check_dossier_sizes(record: DossierRecord, where: str = "") -> None:
    """Refuse values longer than their database column (instead of a database error)."""
    for column in Dossier.__table__.columns:
        length = getattr(column.type, "length", None)
        value = getattr(record, column.name, None)
        if length and isinstance(value, str) and len(value) > length:
            raise PushFieldError(f"{where}{column.name} is longer than {length} characters", column.name)


def validate_push(payload: Any) -> List[DossierRecord]:
    """A pushed dossier (or list of them) as records; ValueError / :class:`PushFieldError` if invalid."""
    items = payload if isinstance(payload, list) else [payload]
    if not items or not all(isinstance(i, dict) for i in items):
        raise ValueError("expected a dossier object or a list of them")
    records = []
    for index, item in enumerate(items, 1):
        where = f"dossier #{index}: " if isinstance(payload, list) else ""
        check_dossier_fields(item, where)
        record = DossierRecord.from_dict(item)
        check_dossier_sizes(record, where)
        records.append(record)
    return records


def records_from_file(text: str) -> List[DossierRecord]:
    """Parse an import file (JSON list or object with 'dossiers'), reporting the bad item."""
    data = json.loads(text)
    items = data.get("dossiers") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ValueError("expected a list of dossiers or {'dossiers': [...]}")
    out = []
    for i, item in enumerate(items, 1):
        try:
            if isinstance(item, dict):
                check_dossier_fields(item)
            out.append(DossierRecord.from_dict(item))
        except (ValueError, TypeError, AttributeError) as exc:
            raise ValueError(f"dossier #{i}: {exc}") from exc
    return out
