"""Import of the procedure catalogue from a JSON export (validated, all or nothing).

Format: ``{"version": 1, "checked_on": "YYYY-MM-DD", "procedures": [ {...}, ... ]}``,
one object per procedure as documented in ``docs/catalogue-format.md``. A bad
record is reported with the line it starts on, and nothing is written.

The national catalogue (``format: "national-catalogue/1"``, see :mod:`bot.catalogue.national`)
is accepted too. Both are merged field by field (:mod:`bot.catalogue.import_merge`): the curated
records win over the snapshot wherever they give a value, in whatever order the files come.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from sqlalchemy.orm import Session

from bot.catalogue.import_merge import DEFAULT_VERIFIER, Plan, curated_of, load_states, merge, national_of
from bot.catalogue.import_merge import search_key as search_key
from bot.catalogue.national import FORMAT, NationalError, is_national, load_national, read_json

logger = logging.getLogger(__name__)

LEVELS = {"central", "province", "commune"}
CHANNEL_KINDS = {"direct", "post", "online"}
DOC_KINDS = {"submit", "show"}
ONLINE_LEVELS = {"full", "partial", "none"}
CODE_RE = re.compile(r"^\d\.\d{6}$|^[A-Z0-9.]{3,20}$")
OPTIONAL_TEXTS = ("submit_place", "conditions", "result", "online_url", "notes")
REQUIRED = ("code", "name", "field", "level", "agency", "channels", "documents", "legal_basis", "online_level",
            "source")


class CatalogueError(ValueError):
    """The export is invalid; ``problems`` lists ``(line, message)`` pairs.

    ``unit`` is ``"line"`` (curated JSON) or ``"record"`` (national file: 1-based record position,
    0 for the file itself).
    """

    def __init__(self, problems: List[Tuple[int, str]], unit: str = "line") -> None:
        self.problems = problems
        self.unit = unit
        super().__init__("; ".join(f"{unit} {line}: {msg}" for line, msg in problems))


@dataclass
class ImportReport:
    """What an import changed.

    National file: ``updated`` procedures had a change (``changed_fields`` counts them per field),
    ``unchanged`` had none. Curated file: ``updated`` counts every procedure of the file that
    existed already (as it always did); ``unchanged`` and ``changed_fields`` are exact.
    """

    created: int
    updated: int
    removed: int
    unchanged: int = 0
    changed_fields: Dict[str, int] = field(default_factory=dict)


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


def read_records(text: str) -> List[Tuple[int, Any]]:
    """The procedures of a curated export with the line each starts on, not yet validated.

    Raises:
        CatalogueError: not JSON, or no ``procedures`` list.
    """
    return _records_with_lines(text)[1]


def _scan_records(text: str, pos: int, expected: List[Any]) -> Optional[List[Tuple[int, Any]]]:
    """Records decoded from ``pos`` on with their start lines, if they are exactly ``expected``."""
    decoder = json.JSONDecoder()
    records: List[Tuple[int, Any]] = []
    line, counted = 1, 0  # lines counted up to ``counted`` (once through the text, not once per record)
    for record in expected:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        line, counted = line + text.count("\n", counted, pos), pos
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
    if record.get("verified_by") is not None and not isinstance(record["verified_by"], str):
        problems.append("'verified_by' must be text")
    if not all(isinstance(a, str) for a in record.get("aliases") or []):
        problems.append("aliases must be texts")
    for key in OPTIONAL_TEXTS:
        if record.get(key) is not None and not isinstance(record[key], str):
            problems.append(f"'{key}' must be text")
    for key in ("steps", "unconfirmed"):
        value = record.get(key)
        if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
            problems.append(f"{key} must be a list of texts")
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
            elif ch.get("duration_days") is not None and not _whole(ch["duration_days"]):
                problems.append("duration_days must be a non-negative integer or null")
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


def curated_layer(rec: Dict[str, Any], checked_on: dt.date, verifier: str) -> Dict[str, Any]:
    """A valid curated record as a layer (values in the row vocabulary, provenance, who verified it)."""
    checked = dt.date.fromisoformat(rec["checked_on"]) if rec.get("checked_on") else checked_on
    values = {
        "name": rec["name"].strip(),
        "aliases": [a.strip().lower() for a in rec.get("aliases") or [] if a and a.strip()],
        "field": rec["field"].strip(), "level": rec["level"], "agency": rec["agency"],
        "submit_place": rec.get("submit_place"), "steps": rec.get("steps") or [], "conditions": rec.get("conditions"),
        "result": rec.get("result"), "legal_basis": rec["legal_basis"], "online_level": rec["online_level"],
        "online_url": rec.get("online_url"), "notes": rec.get("notes"),
        "channels": [{"kind": c["kind"], "duration": c["duration"], "duration_days": c.get("duration_days"),
                      "fee": c["fee"], "fee_vnd": c.get("fee_vnd"), "fee_status": c.get("fee_status"),
                      "fee_doubtful": bool(c.get("fee_doubtful")), "note": c.get("note")} for c in rec["channels"]],
        "documents": [{"name": d["name"], "kind": d["kind"], "original": int(d.get("original") or 0),
                       "copy": int(d.get("copy") or 0), "template": d.get("template"), "group_name": d.get("group")}
                      for d in rec["documents"]],
    }
    return {"values": values, "source": rec["source"], "checked_on": checked.isoformat(),
            "unconfirmed": list(rec.get("unconfirmed") or []),
            "verified_by": rec.get("verified_by") or verifier, "verified_at": checked.isoformat()}


def import_catalogue(session: Session, path: Path, prune: bool = False) -> ImportReport:
    """Validate ``path`` (the curated format or the national one) and merge it in the caller's transaction.

    Args:
        session: an open session; the caller commits (nothing is written on error).
        path: the curated JSON export, or the national catalogue (``format: "national-catalogue/1"``,
            JSON or gzip).
        prune: curated file: a curated procedure missing from it falls back to its national values,
            or is deleted when it has none; national file: national procedures missing from it are
            deleted (curated ones never, they only lose their national layer).
    """
    if is_national_file(path):
        return import_national(session, path, prune=prune)
    checked_on, records = load_catalogue(path)
    doc_verifier = _verifier(path)
    layers = {r["code"]: curated_layer(r, checked_on, doc_verifier) for r in records}
    states = load_states(session.connection(), layers)
    plan = Plan()
    for code, layer in layers.items():
        old = states.get(code)
        plan.put(code, old, merge(national_of(old) if old else None, layer))
    removed = reverted = 0
    if prune:
        for code, old in states.items():
            if code in layers or old["origin"] != "curated":
                continue
            nat = national_of(old)
            if nat is None:
                plan.deletes.append(old["_id"])
                removed += 1
            else:
                plan.put(code, old, merge(nat, None))
                reverted += 1
    plan.write(session)
    created = len(plan.inserts)
    updated = len(layers) - created + reverted  # every procedure of the file that existed (as before)
    logger.info("catalogue import: %d created, %d updated, %d removed", created, updated, removed)
    return ImportReport(created, updated, removed, plan.unchanged, dict(plan.fields))


def _verifier(path: Path) -> str:
    doc = json.loads(path.read_text(encoding="utf-8"))
    return str(doc.get("verified_by") or doc.get("reviewer") or DEFAULT_VERIFIER)


def is_national_file(path: Path) -> bool:
    """A gzip file, or JSON whose top level carries ``"format": "national-catalogue/1"``."""
    with path.open("rb") as fh:
        head = fh.read(4096)
    if head[:2] == b"\x1f\x8b":
        return True
    if FORMAT.encode() not in head and b'"format"' in head:
        return False
    try:
        return is_national(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, UnicodeDecodeError):
        return False  # reported with its line by the curated loader


def import_national(session: Session, path: Path, prune: bool = False) -> ImportReport:
    """Merge the national snapshot: new procedures created, changed ones updated (fields counted),
    curated fields never overwritten; with ``prune``, national procedures missing from it deleted."""
    try:
        _, doc = read_json(path)
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise CatalogueError([(0, f"unreadable national catalogue: {exc}")], unit="record") from exc
    except json.JSONDecodeError as exc:
        raise CatalogueError([(exc.lineno, f"invalid JSON: {exc.msg}")]) from exc
    if not is_national(doc):
        raise CatalogueError([(0, f"expected format {FORMAT!r}")], unit="record")
    try:
        _, layers = load_national(doc)
    except NationalError as exc:
        raise CatalogueError(exc.problems, unit="record") from exc
    states = load_states(session.connection())
    plan = Plan()
    seen = set()
    for layer in layers:
        code = layer.pop("code")
        seen.add(code)
        old = states.get(code)
        plan.put(code, old, merge(layer, curated_of(old) if old else None))
    removed = 0
    if prune:
        for code, old in states.items():
            if code in seen:
                continue
            if old["origin"] == "national":
                plan.deletes.append(old["_id"])
                removed += 1
            elif national_of(old) is not None:
                plan.put(code, old, merge(None, curated_of(old)))
    plan.write(session)
    report = ImportReport(len(plan.inserts), len(plan.updates), removed, plan.unchanged, dict(plan.fields))
    logger.info("national catalogue import: %s", report)
    return report
