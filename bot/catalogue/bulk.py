"""Importing and exporting the catalogue from the staff console: JSON (curated format) and Excel, all or nothing."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Tuple

from sqlalchemy.orm import Session

from bot.catalogue.editor import Change, apply_records, prepare, stored_states
from bot.catalogue.importer import CatalogueError, load_catalogue
from bot.catalogue.national import is_national
from bot.catalogue.problems import vietnamese
from bot.catalogue.sheet import SheetError, read_workbook, write_workbook


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


def parse_json(data: bytes, filename: str = "catalogue.json") -> List[Tuple[str, Dict[str, Any]]]:
    """Records of a curated-format JSON file, validated by the importer.

    Raises:
        ImportProblems: each bad record as ``FILE:LINE`` and its problem.
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
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "catalogue.json"
        path.write_text(text, encoding="utf-8")
        try:
            _checked, records = load_catalogue(path)
        except CatalogueError as exc:
            raise ImportProblems([(f"{filename}:{line}", vietnamese(msg)) for line, msg in exc.problems]) from exc
        except ValueError as exc:  # a bad file-level checked_on
            raise ImportProblems([(filename, f"ngày kiểm tra của tệp không hợp lệ: {exc}")]) from exc
    return [(filename, record) for record in records]


def parse_excel(data: bytes) -> List[Tuple[str, Dict[str, Any]]]:
    """Records of an Excel workbook (:mod:`bot.catalogue.sheet`), validated by the importer.

    Raises:
        ImportProblems: every problem with its sheet and row.
    """
    try:
        return read_workbook(data)
    except SheetError as exc:
        raise ImportProblems(exc.problems) from exc


def import_records(session: Session, records: List[Tuple[str, Dict[str, Any]]], actor: str,
                   checked_on: dt.date, note: str = "") -> ImportResult:
    """Save every record whose content differs from the stored one (new codes are added), in one transaction.

    Each changed procedure gets the import's check date, is marked verified by ``actor``, and has its
    revision and audit entry; the caller commits (on an exception nothing is written).
    """
    if checked_on > dt.date.today() + dt.timedelta(days=1):
        raise ImportProblems([("Ngày kiểm tra", "ngày kiểm tra không thể ở tương lai")])
    prepared = {rec["code"]: prepare(rec["code"], rec, rec["source"], checked_on) for _where, rec in records}
    olds = stored_states(session, prepared)
    changes = apply_records(session, prepared, olds, actor, checked_on, "import", note or None, content_only=True)
    return ImportResult(changes, len(prepared) - len(changes))


def export_json(records: List[Dict[str, Any]]) -> bytes:
    """Records as a curated-format file (``import-catalogue`` and this console read it back)."""
    doc = {"version": 1, "checked_on": dt.date.today().isoformat(), "procedures": records}
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")


def export_excel(records: List[Dict[str, Any]]) -> bytes:
    """Records as an Excel workbook."""
    return write_workbook(records)
