"""Import of the procedure catalogue from a JSON export (validated, all or nothing).

Format: ``{"version": 1, "checked_on": "YYYY-MM-DD", "procedures": [ {...}, ... ]}``,
one object per procedure as documented in ``docs/catalogue-format.md``. A bad
record is reported with the line it starts on, and nothing is written.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.db.models import Field, Procedure, ProcedureChannel, ProcedureDocument
from bot.text.normalize import fold

logger = logging.getLogger(__name__)

LEVELS = {"province", "commune"}
CHANNEL_KINDS = {"direct", "post", "online"}
DOC_KINDS = {"submit", "show"}
ONLINE_LEVELS = {"full", "partial", "none"}
CODE_RE = re.compile(r"^\d\.\d{6}$|^[A-Z0-9.]{3,20}$")
REQUIRED = ("code", "name", "field", "level", "agency", "channels", "documents", "legal_basis", "online_level",
            "source")


class CatalogueError(ValueError):
    """The export is invalid; ``problems`` lists ``(line, message)`` pairs."""

    def __init__(self, problems: List[Tuple[int, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"line {line}: {msg}" for line, msg in problems))


@dataclass
class ImportReport:
    """What an import changed."""

    created: int
    updated: int
    removed: int


def search_key(*names: str) -> str:
    """Folded, lower-case, ``|``-separated names for matching."""
    return " | ".join(fold(n.lower()).strip() for n in names if n)


def _records_with_lines(text: str) -> Tuple[Dict[str, Any], List[Tuple[int, Dict[str, Any]]]]:
    """Parse the export, returning the header and each procedure with its start line."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogueError([(exc.lineno, f"invalid JSON: {exc.msg}")]) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("procedures"), list):
        raise CatalogueError([(1, "expected an object with a 'procedures' list")])
    for match in re.finditer(r'"procedures"\s*:\s*\[', text):
        records = _scan_records(text, match.end(), doc["procedures"])
        if records is not None:
            return doc, records
    return doc, [(1, r) for r in doc["procedures"]]  # unusual layout: no line numbers


def _scan_records(text: str, pos: int, expected: List[Any]) -> Optional[List[Tuple[int, Any]]]:
    """Records decoded from ``pos`` on with their start lines, if they are exactly ``expected``."""
    decoder = json.JSONDecoder()
    records: List[Tuple[int, Any]] = []
    for record in expected:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        line = text.count("\n", 0, pos) + 1
        try:
            found, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            return None
        if found != record:
            return None
        records.append((line, record))
    return records


def _whole(value: Any) -> bool:
    """A non-negative int (``True`` is an int in Python, but not a count)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def validate_record(record: Any) -> List[str]:
    """Problems of one procedure record (empty when valid)."""
    if not isinstance(record, dict):
        return ["a procedure must be an object"]
    problems = [f"missing '{key}'" for key in REQUIRED if record.get(key) in (None, "")]
    if problems:
        return problems
    for key in ("code", "name", "field", "agency", "source"):
        if not isinstance(record[key], str):
            problems.append(f"'{key}' must be text")
    if not all(isinstance(a, str) for a in record.get("aliases") or []):
        problems.append("aliases must be texts")
    if record.get("checked_on") is not None:
        try:
            dt.date.fromisoformat(str(record["checked_on"]))
        except ValueError:
            problems.append("checked_on must be a date YYYY-MM-DD")
    if problems:
        return problems
    if not CODE_RE.match(str(record["code"])):
        problems.append(f"bad code {record['code']!r}")
    if record["level"] not in LEVELS:
        problems.append(f"level must be one of {sorted(LEVELS)}")
    if record["online_level"] not in ONLINE_LEVELS:
        problems.append(f"online_level must be one of {sorted(ONLINE_LEVELS)}")
    if record["online_level"] != "none" and not record.get("online_url"):
        problems.append("online procedures need an online_url")
    if not isinstance(record["channels"], list) or not record["channels"]:
        problems.append("channels must be a non-empty list")
    else:
        for ch in record["channels"]:
            if not isinstance(ch, dict) or ch.get("kind") not in CHANNEL_KINDS:
                problems.append(f"channel kind must be one of {sorted(CHANNEL_KINDS)}")
            elif not ch.get("duration") or ch.get("fee") in (None, ""):
                problems.append(f"channel {ch.get('kind')} needs duration and fee")
            elif ch.get("fee_vnd") is not None and not _whole(ch["fee_vnd"]):
                problems.append("fee_vnd must be a non-negative integer or null")
    if not isinstance(record["documents"], list):
        problems.append("documents must be a list")
    else:
        for doc in record["documents"]:
            name = doc.get("name") if isinstance(doc, dict) else None
            if not isinstance(name, str) or not name.strip() or doc.get("kind") not in DOC_KINDS:
                problems.append(f"each document needs a name and kind in {sorted(DOC_KINDS)}")
            elif not all(_whole(doc.get(k) or 0) for k in ("original", "copy")):
                problems.append("document original/copy must be whole numbers")
    if not isinstance(record.get("aliases", []), list) or not isinstance(record["legal_basis"], list):
        problems.append("aliases and legal_basis must be lists")
    return problems


def load_catalogue(path: Path) -> Tuple[dt.date, List[Dict[str, Any]]]:
    """Read and validate an export; raises :class:`CatalogueError` listing every bad record."""
    doc, records = _records_with_lines(path.read_text(encoding="utf-8"))
    problems: List[Tuple[int, str]] = []
    seen: Dict[str, int] = {}
    for line, record in records:
        for msg in validate_record(record):
            problems.append((line, f"{record.get('code', '?') if isinstance(record, dict) else '?'}: {msg}"))
        code = record.get("code") if isinstance(record, dict) else None
        if code in seen:
            problems.append((line, f"{code}: duplicate code (first at line {seen[code]})"))
        elif code:
            seen[code] = line
    if problems:
        raise CatalogueError(problems)
    checked = dt.date.fromisoformat(str(doc.get("checked_on") or dt.date.today().isoformat()))
    return checked, [r for _, r in records]


def _field(session: Session, name: str, cache: Dict[str, Field]) -> Field:
    if name not in cache:
        found = session.execute(select(Field).where(Field.name == name)).scalar_one_or_none()
        cache[name] = found or Field(name=name, search_key=search_key(name))
        session.add(cache[name])
    return cache[name]


def import_catalogue(session: Session, path: Path, prune: bool = False) -> ImportReport:
    """Validate ``path`` and upsert every procedure in the caller's transaction.

    Args:
        session: an open session; the caller commits (nothing is written on error).
        path: the JSON export.
        prune: delete procedures that are not in the export.
    """
    checked_on, records = load_catalogue(path)
    fields: Dict[str, Field] = {}
    existing = {p.code: p for p in session.execute(select(Procedure)).unique().scalars()}
    created = updated = 0
    with session.no_autoflush:
        for rec in records:
            created, updated = _upsert(session, rec, existing, fields, checked_on, created, updated)
    removed = 0
    if prune:
        wanted = {r["code"] for r in records}
        stale = [code for code in existing if code not in wanted]
        if stale:
            removed = session.execute(delete(Procedure).where(Procedure.code.in_(stale))).rowcount or 0
    session.flush()
    logger.info("catalogue import: %d created, %d updated, %d removed", created, updated, removed)
    return ImportReport(created, updated, removed)


def _upsert(session: Session, rec: Dict[str, Any], existing: Dict[str, Procedure], fields: Dict[str, Field],
            checked_on: dt.date, created: int, updated: int) -> Tuple[int, int]:
    """Create or update one procedure; returns the new (created, updated) counts."""
    proc = existing.get(rec["code"])
    if proc is None:
        proc = Procedure(code=rec["code"])
        session.add(proc)
        created += 1
    else:
        updated += 1
    aliases = [a.strip().lower() for a in rec.get("aliases", []) if a and a.strip()]
    proc.name = rec["name"].strip()
    proc.aliases = aliases
    proc.field = _field(session, rec["field"].strip(), fields)
    proc.level = rec["level"]
    proc.agency = rec["agency"]
    proc.submit_place = rec.get("submit_place")
    proc.steps = rec.get("steps") or []
    proc.conditions = rec.get("conditions")
    proc.result = rec.get("result")
    proc.legal_basis = rec["legal_basis"]
    proc.online_level = rec["online_level"]
    proc.online_url = rec.get("online_url")
    proc.source = rec["source"]
    proc.checked_on = dt.date.fromisoformat(rec["checked_on"]) if rec.get("checked_on") else checked_on
    proc.unconfirmed = rec.get("unconfirmed") or []
    proc.notes = rec.get("notes")
    proc.search_key = search_key(proc.name, *aliases)
    proc.channels = [
        ProcedureChannel(kind=c["kind"], duration=c["duration"], duration_days=c.get("duration_days"),
                         fee=c["fee"], fee_vnd=c.get("fee_vnd"))
        for c in rec["channels"]
    ]
    proc.documents = [
        ProcedureDocument(position=i, name=d["name"], kind=d["kind"], original=int(d.get("original") or 0),
                          copy=int(d.get("copy") or 0), template=d.get("template"))
        for i, d in enumerate(rec["documents"])
    ]
    return created, updated
