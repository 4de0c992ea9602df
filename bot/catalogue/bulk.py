"""Importing and exporting the catalogue from the staff console: JSON (curated format) and Excel, all or nothing."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from sqlalchemy.orm import Session

from bot.catalogue.editor import EDIT_KEYS, Change, apply_records, prepare, record_from_state, stored_states
from bot.catalogue.importer import CatalogueError, read_records, validate_record
from bot.catalogue.national import is_national
from bot.catalogue.problems import vietnamese
from bot.catalogue.sheet import TRUNCATED, SheetError, cell_text, read_cells, write_workbook


class ImportProblems(ValueError):
    """Nothing was imported; ``problems`` lists ``(where, message)`` (``FILE:LINE`` or sheet and row)."""

    def __init__(self, problems: List[Tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{w}: {m}" for w, m in problems))


@dataclass
class ImportResult:
    """What an import changed: one :class:`Change` per procedure saved, and how many were left as they were."""

    changes: List[Change]
    unchanged: int


@dataclass
class Parsed:
    """The records of an uploaded file, each with where it is, and the problems of its cells."""

    records: List[Tuple[str, Dict[str, Any]]]
    problems: List[Tuple[str, str]] = field(default_factory=list)


def parse_json(data: bytes, filename: str = "catalogue.json") -> Parsed:
    """Records of a curated-format JSON file, each with its ``FILE:LINE`` (validated on import).

    Raises:
        ImportProblems: not UTF-8, not JSON (with the line), or the national format.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportProblems([(filename, "tệp không phải văn bản UTF-8")]) from exc
    try:
        if is_national(json.loads(text)):
            raise ImportProblems([(filename, "đây là tệp CSDL quốc gia: hãy nhập bằng lệnh "
                                             "`python -m bot.cli import-catalogue`")])
    except json.JSONDecodeError:
        pass  # reported with its line below
    try:
        found = read_records(text)
    except CatalogueError as exc:
        raise ImportProblems([(f"{filename}:{line}", vietnamese(msg)) for line, msg in exc.problems]) from exc
    parsed, seen = Parsed([]), {}  # type: ignore[var-annotated]
    for line, record in found:
        where = f"{filename}:{line}"
        if not isinstance(record, dict):
            parsed.problems.append((where, vietnamese("a procedure must be an object")))
            continue
        code = record.get("code")
        if isinstance(code, str) and code in seen:
            parsed.problems.append((where, f"{code}: trùng mã (lần đầu ở {seen[code]})"))
            continue
        seen[code] = where
        parsed.records.append((where, record))
    return parsed


def parse_excel(data: bytes) -> Parsed:
    """Records of an Excel workbook (:mod:`bot.catalogue.sheet`), each with its sheet and row (validated on import).

    Raises:
        ImportProblems: an unreadable file, missing sheets or columns.
    """
    try:
        return Parsed(*read_cells(data))
    except SheetError as exc:
        raise ImportProblems(exc.problems) from exc


def _untruncated(rec: Dict[str, Any], stored: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """The record with the stored text back in every cell Excel cut short and nobody edited."""
    cut = rec.get(TRUNCATED)
    if not cut:
        return rec
    rec = {k: v for k, v in rec.items() if k != TRUNCATED}
    for key, text in cut.items():
        full = cell_text(key, stored.get(key)) if stored else None
        if isinstance(full, str) and full.startswith(text):
            rec[key] = stored[key]  # type: ignore[index]
    return rec


def canonical(record: Dict[str, Any]) -> Dict[str, Any]:
    """The editable content of a record in one spelling (empty text = null, defaults filled in)."""
    out: Dict[str, Any] = {}
    for key in EDIT_KEYS:
        value = record.get(key)
        if key in ("channels", "documents"):
            continue
        if isinstance(value, str):
            value = value.strip() or None
        out[key] = list(value or []) if key in ("aliases", "steps", "legal_basis", "unconfirmed") else value
    channels = []
    for ch in record.get("channels") or []:
        if not isinstance(ch, dict):
            return dict(out, channels=None)
        channels.append({"kind": ch.get("kind"), "duration": ch.get("duration") or None,
                         "duration_days": ch.get("duration_days"), "fee": ch.get("fee") or None,
                         "fee_vnd": ch.get("fee_vnd"), "fee_status": ch.get("fee_status") or None,
                         "fee_doubtful": bool(ch.get("fee_doubtful")), "note": ch.get("note") or None})
    documents = []
    for doc in record.get("documents") or []:
        if not isinstance(doc, dict):
            return dict(out, documents=None)
        documents.append({"name": doc.get("name"), "kind": doc.get("kind"), "original": doc.get("original") or 0,
                          "copy": doc.get("copy") or 0, "template": doc.get("template") or None,
                          "group": doc.get("group") or None})
    return dict(out, channels=channels, documents=documents)


def import_records(session: Session, parsed: Parsed, actor: str, checked_on: dt.date,
                   note: str = "") -> ImportResult:
    """Save every record whose content differs from the stored one (new codes are added), in one transaction.

    Only those records are validated (with the importer's :func:`validate_record`): a record
    exported as it is stored stays as it is, even a machine-read one the importer would refuse.
    Each saved procedure gets the import's check date, is marked verified by ``actor``, and has
    its revision and audit entry; the caller commits (on an exception nothing is written).

    Raises:
        ImportProblems: the check date is in the future, bad cells, or invalid changed records (all listed).
    """
    records = parsed.records
    if checked_on > dt.date.today() + dt.timedelta(days=1):
        raise ImportProblems([("Ngày kiểm tra", "ngày kiểm tra không thể ở tương lai")])
    codes = [rec.get("code") for _where, rec in records if isinstance(rec.get("code"), str)]
    olds = stored_states(session, codes)
    prepared: Dict[str, Dict[str, Any]] = {}
    problems: List[Tuple[str, str]] = list(parsed.problems)
    for where, rec in records:
        code = rec.get("code")
        old = olds.get(code) if isinstance(code, str) else None
        rec = _untruncated(rec, record_from_state(code, old) if old else None)
        if old is not None and canonical(rec) == canonical(record_from_state(code, old)):
            continue
        source = rec.get("source") if isinstance(rec.get("source"), str) else ""
        candidate = dict(rec, code=code, checked_on=checked_on.isoformat())
        found = validate_record(candidate)
        if found:
            problems += [(where, f"{code if isinstance(code, str) and code else '?'}: {vietnamese(p)}")
                         for p in found]
            continue
        prepared[code] = prepare(code, rec, source, checked_on)
    if problems:
        raise ImportProblems(problems)
    changes = apply_records(session, prepared, olds, actor, checked_on, "import", note or None, content_only=True)
    return ImportResult(changes, len(records) - len(changes))


def export_json(records: List[Dict[str, Any]]) -> bytes:
    """Records as a curated-format file (``import-catalogue`` and this console read it back)."""
    doc = {"version": 1, "checked_on": dt.date.today().isoformat(), "procedures": records}
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")


def export_excel(records: List[Dict[str, Any]]) -> bytes:
    """Records as an Excel workbook."""
    return write_workbook(records)
