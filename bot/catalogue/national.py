"""The national catalogue (``format: "national-catalogue/1"``, ``data/national/procedures.json.gz``).

Made by ``scripts/national_catalogue.py`` from the national database of administrative procedures
(CSDL quốc gia về TTHC); see ``data/national/README.md`` for every field and flag. This module
validates the file (all or nothing, problems named by record position and code) and maps each
record to a *layer*: the procedure's values in the project's vocabulary (one channel row per
submission mode, fee and duration figures only when unambiguous) with its provenance.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

FORMAT = "national-catalogue/1"
SOURCE = "CSDL quốc gia về TTHC"
PORTAL_URL = "https://dichvucong.gov.vn/p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet.html?ma_thu_tuc={code}"
LEVELS = {"central", "province", "commune"}
MODES = {"direct", "online", "post"}
FEE_STATUSES = {"amount", "free", "zero_without_note", "see_note", "text", "doubtful"}
UNITS = {"WORKING_DAY": "ngày làm việc", "DAY": "ngày", "HOUR": "giờ", "MONTH": "tháng", "YEAR": "năm"}
DAY_UNITS = {"WORKING_DAY", "DAY"}
CODE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.\-]{2,19}$")
# the national file's machine-read fields -> the project's ``unconfirmed`` labels (as the answers use them)
LABELS = {"agency": "agency", "channels.duration": "duration", "channels.fees": "fee",
          "competent_agency": "competent_agency", "conditions": "conditions", "documents": "documents",
          "legal_basis": "legal_basis", "level": "level", "result": "result", "steps": "steps",
          "submit_address": "submit_place"}
NO_FEE = "Không có thông tin về phí, lệ phí trong CSDL quốc gia"
NO_DURATION = "Không có thông tin về thời hạn trong CSDL quốc gia"
UNCLEAR_DURATION = "Thời hạn không rõ đơn vị trong CSDL quốc gia"
ZERO_FEE = "Không thu phí, lệ phí theo CSDL quốc gia (CSDL không ghi chú)"
DOUBTFUL_FEE = "Chưa xác định chắc chắn mức phí, lệ phí (số liệu trong CSDL quốc gia không rõ đơn vị)"


class NationalError(ValueError):
    """The national file is invalid; ``problems`` lists ``(position, message)`` (position 0: the file)."""

    def __init__(self, problems: List[Tuple[int, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"record {pos}: {msg}" for pos, msg in problems))


def read_json(path: Path) -> Tuple[str, Any]:
    """The text and the decoded document of a ``.json`` or gzip file (recognised by its magic bytes)."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    text = raw.decode("utf-8")
    return text, json.loads(text)


def is_national(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("format") == FORMAT


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _opt_text(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _count(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0)


def validate_national(rec: Any) -> List[str]:
    """Problems of one national record (empty when valid)."""
    if not isinstance(rec, dict):
        return ["a procedure must be an object"]
    problems = [f"missing '{key}'" for key in ("code", "name", "field") if not _text(rec.get(key))]
    if problems:
        return problems
    if not CODE_RE.match(rec["code"]):
        problems.append(f"bad code {rec['code']!r}")
    if rec.get("level") is not None and rec["level"] not in LEVELS:
        problems.append(f"level must be one of {sorted(LEVELS)} or null")
    if not isinstance(rec.get("levels", []), list) or not set(rec.get("levels") or []) <= LEVELS:
        problems.append(f"levels must be a list of {sorted(LEVELS)}")
    for key in ("agency", "competent_agency", "authorised_agency", "submit_address", "conditions", "result",
                "decision", "target"):
        if not _opt_text(rec.get(key)):
            problems.append(f"'{key}' must be text or null")
    if not isinstance(rec.get("steps", []), list) or not all(isinstance(s, str) for s in rec.get("steps") or []):
        problems.append("steps must be a list of texts")
    problems += _channel_problems(rec.get("channels"))
    docs = rec.get("documents")
    if not isinstance(docs, list):
        problems.append("documents must be a list")
    elif not all(isinstance(d, dict) and _text(d.get("name")) and _count(d.get("originals"))
                 and _count(d.get("copies")) and _opt_text(d.get("group")) for d in docs):
        problems.append("each document needs a name and whole originals/copies (or null)")
    legal = rec.get("legal_basis", [])
    if not isinstance(legal, list) or not all(isinstance(x, dict) and _opt_text(x.get("number"))
                                              and _opt_text(x.get("title")) for x in legal):
        problems.append("legal_basis must be a list of {number, title}")
    prov = rec.get("provenance")
    if not isinstance(prov, dict) or not isinstance(prov.get("unconfirmed", []), list):
        problems.append("provenance must be an object with an 'unconfirmed' list")
    elif unknown := [u for u in prov.get("unconfirmed", []) if u not in LABELS]:
        problems.append(f"unknown unconfirmed fields {unknown}")
    if not isinstance(rec.get("flags", []), list):
        problems.append("flags must be a list")
    return problems


def _channel_problems(channels: Any) -> List[str]:
    if not isinstance(channels, list):
        return ["channels must be a list"]
    problems: List[str] = []
    for ch in channels:
        if not isinstance(ch, dict) or not isinstance(ch.get("modes"), list) or not ch["modes"] \
                or not set(ch["modes"]) <= MODES:
            problems.append(f"channel modes must be a non-empty list of {sorted(MODES)}")
            continue
        dur = ch.get("duration")
        if not isinstance(dur, dict) or not (dur.get("value") is None or (
                isinstance(dur["value"], (int, float)) and not isinstance(dur["value"], bool) and dur["value"] >= 0)):
            problems.append("channel duration must be an object with a non-negative value or null")
        elif dur.get("value") is not None and dur.get("unit") not in UNITS:
            problems.append(f"a duration value needs a unit in {sorted(UNITS)}")
        if not _opt_text(ch.get("description")):
            problems.append("channel description must be text or null")
        fees = ch.get("fees")
        if not isinstance(fees, list):
            problems.append("channel fees must be a list")
            continue
        for fee in fees:
            if not isinstance(fee, dict) or fee.get("status") not in FEE_STATUSES:
                problems.append(f"fee status must be one of {sorted(FEE_STATUSES)}")
            elif not _count(fee.get("vnd")) or (fee["status"] == "doubtful" and fee.get("vnd") is not None):
                problems.append("fee vnd must be a non-negative integer or null (null when doubtful)")
            elif not _opt_text(fee.get("note")) or not _opt_text(fee.get("amount")):
                problems.append("fee amount and note must be text or null")
    return problems


def load_national(doc: Dict[str, Any]) -> Tuple[Dict[str, Any], List[Dict[str, Any]]]:
    """Validate a decoded national file; returns its provenance and the layer of every record.

    Raises :class:`NationalError` listing every bad record (1-based position and code).
    """
    prov = doc.get("provenance")
    problems: List[Tuple[int, str]] = []
    snapshot: Optional[dt.date] = None
    try:
        snapshot = dt.date.fromisoformat(str(prov.get("snapshot")))  # type: ignore[union-attr]
    except (AttributeError, ValueError):
        problems.append((0, "provenance.snapshot must be a date YYYY-MM-DD"))
    records = doc.get("procedures")
    if not isinstance(records, list):
        raise NationalError(problems + [(0, "expected a 'procedures' list")])
    seen: Dict[str, int] = {}
    for pos, rec in enumerate(records, 1):
        code = rec.get("code") if isinstance(rec, dict) else None
        problems += [(pos, f"{code or '?'}: {msg}") for msg in validate_national(rec)]
        if isinstance(code, str) and code in seen:
            problems.append((pos, f"{code}: duplicate code (first at record {seen[code]})"))
        elif isinstance(code, str):
            seen[code] = pos
    if problems or snapshot is None:
        raise NationalError(problems)
    source = SOURCE
    return ({"source": source, "snapshot": snapshot.isoformat(), "commit": prov.get("commit")},
            [national_layer(rec, source, snapshot) for rec in records])


# -- mapping one record -----------------------------------------------------------------------

def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value).replace(".", ",")


def _vnd(amount: int) -> str:
    return f"{amount:,}".replace(",", ".") + " đồng"


def duration_of(dur: Dict[str, Any]) -> Tuple[str, Optional[int]]:
    """The duration text (working vs calendar days kept) and a day count only when the record gives one."""
    value, unit = dur.get("value"), dur.get("unit")
    if value is not None and unit in UNITS:
        text = f"{_number(value)} {UNITS[unit]}"
        if dur.get("unit_conflict"):
            text += " (phần mô tả ghi ngày làm việc)"
        days = int(value) if unit in DAY_UNITS and float(value).is_integer() else None
        return text, days
    text = (dur.get("text") or "").strip()  # words only: a number without its unit ("1 OTHER") is not quoted
    return text or (UNCLEAR_DURATION if dur.get("raw") else NO_DURATION), None


def _fee_text(fee: Dict[str, Any]) -> str:
    status, note = fee["status"], (fee.get("note") or "").strip()
    if status == "amount":
        return _vnd(fee["vnd"]) + (f" ({note})" if note else "")
    if status == "free":
        return "Miễn phí, lệ phí" + (f" ({note})" if note and note.casefold() not in ("0", "không") else "")
    if status == "zero_without_note":
        return ZERO_FEE
    if status == "doubtful":
        return DOUBTFUL_FEE + (f"; ghi chú trong CSDL: {note}" if note else "")
    return note or NO_FEE  # see_note, text


def fee_of(fees: List[Dict[str, Any]]) -> Tuple[str, Optional[int], str, bool]:
    """(fee text, fee_vnd, fee_status, doubtful) of one channel's fee items.

    ``fee_vnd`` is set only for a single unambiguous item: an amount (also when ``conditional``:
    the base rate, other cases in the note) or an explicit "free"; several different items, a
    zero without note, "see the note", text-only and doubtful fees leave it NULL.
    """
    if not fees:
        return NO_FEE, None, "missing", False
    doubtful = any(f["status"] == "doubtful" for f in fees)
    text = "; ".join(dict.fromkeys(_fee_text(f) for f in fees))
    distinct = {(f.get("amount"), f.get("note")) for f in fees}
    if len(distinct) > 1:
        return text, None, "doubtful" if doubtful else "several", doubtful
    fee = fees[0]
    status = fee["status"]
    if status == "amount" and fee.get("conditional"):
        status = "conditional"
    vnd = fee.get("vnd") if status in ("amount", "conditional", "free") else None
    return text, vnd, status, doubtful


def _legal(item: Dict[str, Any]) -> str:
    title, number = (item.get("title") or "").strip(), (item.get("number") or "").strip()
    if number and number not in title:
        return f"{title} {number}".strip()
    return title or number


def national_layer(rec: Dict[str, Any], source: str, snapshot: dt.date) -> Dict[str, Any]:
    """One national record as a layer: ``values`` (columns, channels, documents) and provenance."""
    channels = []
    for ch in rec.get("channels") or []:
        duration, days = duration_of(ch.get("duration") or {})
        fee, vnd, status, doubtful = fee_of(ch.get("fees") or [])
        for mode in ch["modes"]:
            channels.append({"kind": mode, "duration": duration, "duration_days": days, "fee": fee, "fee_vnd": vnd,
                             "fee_status": status, "fee_doubtful": doubtful, "note": ch.get("description")})
    documents = [{"name": d["name"].strip(), "kind": "show" if d["name"].casefold().startswith("xuất trình")
                  else "submit", "original": 1 if d.get("originals") is None else d["originals"],
                  "copy": d.get("copies") or 0, "template": None, "group_name": d.get("group")}
                 for d in rec.get("documents") or []]
    level = rec.get("level") or (rec.get("levels") or ["unknown"])[0]
    agency = rec.get("agency") or rec.get("competent_agency") or rec.get("authorised_agency") or ""
    online = any(c["kind"] == "online" for c in channels)
    unconfirmed = [LABELS[u] for u in (rec.get("provenance") or {}).get("unconfirmed", [])]
    unconfirmed.append("online_level")  # the snapshot has no "mức độ": an online channel exists, no more
    flags = list(rec.get("flags") or [])
    if not agency:
        flags.append("agency_missing")
    values = {
        "name": rec["name"].strip(), "aliases": [], "field": rec["field"].strip(), "level": level,
        "levels": list(rec.get("levels") or ([level] if level in LEVELS else [])), "agency": agency,
        "competent_agency": rec.get("competent_agency"), "decision": rec.get("decision"),
        "submit_place": rec.get("submit_address"), "steps": list(rec.get("steps") or []),
        "conditions": rec.get("conditions"), "result": rec.get("result"),
        "legal_basis": [t for t in (_legal(x) for x in rec.get("legal_basis") or []) if t],
        "online_level": "partial" if online else "none",
        "online_url": PORTAL_URL.format(code=rec["code"]) if online else None, "notes": None,
        "channels": channels, "documents": documents,
    }
    return {"code": rec["code"], "values": values, "source": source, "checked_on": snapshot.isoformat(),
            "unconfirmed": sorted(set(unconfirmed)), "flags": sorted(set(flags))}
