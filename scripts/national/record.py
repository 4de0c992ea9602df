"""Parsing of one national-database record (``data/Data_DVC/<code>.txt``) into a compact dict.

Standard library only; used by ``scripts/national_catalogue.py`` and its tests.
"""

from __future__ import annotations

import collections
import json
import re
import unicodedata
from typing import Any

SOURCE = "CSDL quốc gia về TTHC (dichvucong.gov.vn)"
SNAPSHOT = "2026-07-17"
NONE = "Không có thông tin"

HEADERS = [  # every record carries all of them, in this order, at column 0
    ("code", "Mã thủ tục"), ("decision", "Số quyết định"), ("name", "Tên thủ tục"),
    ("level_raw", "Cấp thực hiện"), ("kind", "Loại thủ tục"), ("field", "Lĩnh vực"),
    ("_steps", "Trình tự thực hiện"), ("_channels", "Cách thức thực hiện"), ("_documents", "Thành phần hồ sơ"),
    ("target", "Đối tượng thực hiện"), ("agency", "Cơ quan thực hiện"),
    ("competent_agency", "Cơ quan có thẩm quyền"), ("submit_address", "Địa chỉ tiếp nhận HS"),
    ("authorised_agency", "Cơ quan được ủy quyền"), ("coordinating_agency", "Cơ quan phối hợp"),
    ("result", "Kết quả thực hiện"), ("_legal", "Căn cứ pháp lý"), ("conditions", "Yêu cầu, điều kiện thực hiện"),
    ("keywords", "Từ khóa"), ("description", "Mô tả"),
]
LEVELS = {"Cấp Bộ/Trung ương": "central", "Cấp Tỉnh": "province", "Cấp Xã": "commune"}
LEVEL_WORDS = [  # searched in the agencies and in explicit "cấp …" words of the name
    ("central", r"trung ương|cấp bộ|(?<!cán )\bbộ\b(?! hồ sơ| phận)|(?<!chi )\bcục\b"),
    ("province", r"cấp tỉnh|\bsở\b|(?:ubnd|ủy ban nhân dân|uỷ ban nhân dân|công an) tỉnh"),
    ("commune", r"cấp xã|(?:ubnd|ủy ban nhân dân|uỷ ban nhân dân|công an) (?:cấp )?xã"),
]
NAME_LEVEL = re.compile(r"cấp (tỉnh|xã|trung ương|bộ|huyện)", re.I)
PROVINCES = (
    "An Giang|Bà Rịa - Vũng Tàu|Bắc Giang|Bắc Kạn|Bạc Liêu|Bắc Ninh|Bến Tre|Bình Định|Bình Dương|Bình Phước|"
    "Bình Thuận|Cà Mau|Cần Thơ|Cao Bằng|Đà Nẵng|Đắk Lắk|Đắk Nông|Điện Biên|Đồng Nai|Đồng Tháp|Gia Lai|Hà Giang|"
    "Hà Nam|Hà Nội|Hà Tĩnh|Hải Dương|Hải Phòng|Hậu Giang|Hòa Bình|Hưng Yên|Khánh Hòa|Kiên Giang|Kon Tum|Lai Châu|"
    "Lâm Đồng|Lạng Sơn|Lào Cai|Long An|Nam Định|Nghệ An|Ninh Bình|Ninh Thuận|Phú Thọ|Phú Yên|Quảng Bình|Quảng Nam|"
    "Quảng Ngãi|Quảng Ninh|Quảng Trị|Sóc Trăng|Sơn La|Tây Ninh|Thái Bình|Thái Nguyên|Thanh Hóa|Thừa Thiên Huế|Huế|"
    "Hồ Chí Minh|Tiền Giang|Trà Vinh|Tuyên Quang|Vĩnh Long|Vĩnh Phúc|Yên Bái"
)
PROVINCE = re.compile(rf"(?:tỉnh|thành phố|tp\.?)\s+({PROVINCES})\b", re.I)
OWN_PROVINCES = {"Lào Cai", "Yên Bái"}  # Yên Bái joined Lào Cai in the 2025 reorganisation
MODES = {"DIRECT": "direct", "ONLINE": "online", "POSTAL": "post"}
UNITS = {"WORKING_DAY": "WORKING_DAY", "HOUR": "HOUR", "MONTH": "MONTH", "YEAR": "YEAR", "DAY": "DAY", "ngày": "DAY"}
# machine-read fields an answer must qualify ("theo CSDL quốc gia về TTHC, cập nhật 17/07/2026")
UNCONFIRMED = ["agency", "channels.duration", "channels.fees", "competent_agency", "conditions", "documents",
               "legal_basis", "level", "result", "steps", "submit_address"]

FEE_START = re.compile(r"^\d+(?:[.,]\d+)?\s*VNĐ")
FEE_ITEM = re.compile(r"^(\d+(?:[.,]\d+)?)\s*VNĐ\s*(?:\((.*)\))?\s*$", re.S)
MONEY = re.compile(
    r"(?<![\d/.,])(\d{1,3}(?:[.,]\d{3})+|\d{4,})(?:[.,]\d{1,2})?(?=\s*(?:đồng|đ\b|vnđ|vnd|/|\s*nghìn|\s*triệu))"
    r"(\s*(?:nghìn|ngàn|triệu))?", re.I)
SMALL_MONEY = re.compile(r"(?<![\d/.,])(\d{1,3})\s*(nghìn|ngàn|triệu)\s*đồng", re.I)
FOREIGN = re.compile(r"\bUSD\b|US\$|\$|đô\s*la|\bEUR\b|euro|\bCHF\b|frăng", re.I)
FREE = re.compile(r"^(không|không có|không thu|miễn|miễn phí|miễn lệ phí|miễn phí, lệ phí|không quy định|0|0 đồng)\.?$",
                  re.I)
EXPIRED = re.compile(r"đến hết ngày \d{1,2}/\d{1,2}/(20\d\d)")
DURATION = re.compile(r"^(\d+(?:[.,]\d+)?)\s+(WORKING_DAY|HOUR|MONTH|YEAR|DAY|ngày)\s*$")
OTHER_NUMBER = re.compile(r"^\d+(?:[.,]\d+)?\s+OTHER$")
BULLET = re.compile(r"^(?:[-+*•⁕·▪●◦‒–—]\s*)+")


class RecordError(ValueError):
    """A record that does not follow the national format (the whole run stops)."""


def _drop_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    for cp in range(0x80, 0x10000):
        cat = unicodedata.category(chr(cp))
        if cat in ("Co", "Cf", "Mn", "Cc"):
            table[cp] = None
    table.update({0xA0: " ", 0x202F: " ", 0x2007: " ", 0x09: " "})
    return table


DROP = _drop_table()
PRIVATE = re.compile("[\ue000-\uf8ff]")


def clean(text: str, stats: collections.Counter | None = None) -> str:
    """NFC, drop private-use / format / stray combining characters, one space between words."""
    nfc = unicodedata.normalize("NFC", text)
    if stats is not None:
        if nfc != text:
            stats["text_nfd"] += 1
        if PRIVATE.search(nfc):
            stats["text_private_use"] += 1
    out = nfc.translate(DROP)
    if stats is not None and len(out) < len(nfc) and len(PRIVATE.sub("", nfc)) > len(out):
        stats["text_control"] += 1  # soft hyphens, direction marks, stray combining marks
    return re.sub(r" {2,}", " ", out).strip()


def value(text: str) -> str | None:
    text = text.strip()
    return None if not text or text == NONE or text == NONE + "." else text


def split_sections(text: str) -> dict[str, list[str]]:
    """Cut a record into its headed sections; the first line keeps what follows the colon."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "Chi tiết thủ tục hành chính":
        raise RecordError("missing title line")
    found: list[tuple[str, int]] = []
    pos = 1
    for key, label in HEADERS:
        for i in range(pos, len(lines)):
            if lines[i].startswith(label + ":"):
                # the description text sometimes carries stray "Từ khóa:" lines: the real one precedes "Mô tả:"
                if key == "keywords" and not (i + 1 < len(lines) and lines[i + 1].startswith("Mô tả:")):
                    continue
                found.append((key, i))
                pos = i + 1
                break
        else:
            raise RecordError(f"missing header {label!r}")
    out: dict[str, list[str]] = {}
    for n, (key, start) in enumerate(found):
        end = found[n + 1][1] if n + 1 < len(found) else len(lines)
        label = dict(HEADERS)[key]
        body = [lines[start][len(label) + 1:]] + lines[start + 1:end]
        out[key] = [ln for ln in body if ln.strip() != "Từ khóa:"]
    return out


def scalar(lines: list[str], stats: collections.Counter) -> str | None:
    return value(clean(" ".join(ln.strip() for ln in lines if ln.strip()), stats))


def parse_steps(lines: list[str], stats: collections.Counter) -> tuple[list[str], int]:
    """Cleaned step lines, list markers dropped, repeated lines (>= 30 chars) kept once."""
    steps: list[str] = []
    seen: set[str] = set()
    dropped = 0
    for raw in lines:
        line = BULLET.sub("", clean(raw, stats)).strip()
        if not line or line == NONE:
            continue
        key = line.casefold()
        if len(line) >= 30 and key in seen:
            dropped += 1
            continue
        seen.add(key)
        steps.append(line)
    return steps, dropped


def parse_duration(raw: str, description: str | None) -> dict[str, Any]:
    """Value and unit only when the source gives both; OTHER or missing keeps the words, no number."""
    raw = raw.strip()
    m = DURATION.match(raw)
    if m:
        number = float(m.group(1).replace(",", "."))
        num: int | float = int(number) if number.is_integer() else number
        out: dict[str, Any] = {"raw": raw, "unit": UNITS[m.group(2)], "value": num}
        if m.group(2) == "ngày" and description and "làm việc" in description:
            out["unit_conflict"] = True  # "15 ngày" while the text says working days
        return out
    text = raw
    if raw.endswith("OTHER"):
        text = "" if OTHER_NUMBER.match(raw) else raw[: -len("OTHER")].strip()
    if text.casefold() in ("theo mô tả", "xem phần mô tả", "") and description:
        text = description
    return {"raw": raw, "text": value(text) or None, "unit": "OTHER" if raw else None, "value": None}


def _figures(note: str) -> list[int]:
    found = []
    for m in MONEY.finditer(note):
        n = int(re.sub(r"[.,]", "", m.group(1)))
        mult = (m.group(2) or "").strip().casefold()
        found.append(n * (1_000_000 if mult == "triệu" else 1000 if mult in ("nghìn", "ngàn") else 1))
    for m in SMALL_MONEY.finditer(note):
        found.append(int(m.group(1)) * (1_000_000 if m.group(2).casefold() == "triệu" else 1000))
    return sorted(set(found))


def parse_fee_item(item: str) -> dict[str, Any]:
    """One "<amount> VNĐ (<note>)" item, or free text; ``vnd`` only when the figure is unambiguous."""
    item = item.strip()
    m = FEE_ITEM.match(item)
    if not m:
        return {"amount": None, "note": value(item), "status": "text", "vnd": None}
    amount, note = m.group(1), value(m.group(2) or "")
    number = float(amount.replace(",", "."))
    fee: dict[str, Any] = {"amount": f"{amount} VNĐ", "note": note, "vnd": None}
    figures = _figures(note or "")
    reasons = []
    if note and FOREIGN.search(note):
        reasons.append("foreign_currency")
    if not number.is_integer():
        reasons.append("fraction")
    elif number == 0:
        if figures:
            reasons.append("figures_only_in_note")
        elif note is None or FREE.match(note.strip(" ()")):
            fee.update(status="free" if note else "zero_without_note", vnd=0)
        else:
            fee["status"] = "see_note"
    elif number < 1000:
        reasons.append("thousands_or_foreign" if not figures or int(number) * 1000 not in figures else "thousands")
    elif figures and int(number) not in figures:
        reasons.append("note_disagrees")
    if reasons:
        fee.update(status="doubtful", doubt=reasons)
    elif "status" not in fee:
        fee.update(status="amount", vnd=int(number))
        if len(figures) > 1:
            fee["conditional"] = True  # other amounts apply in cases told only in the note
    if note and "%" in note:
        fee["percent_in_note"] = True
        if fee["status"] == "amount":
            fee["conditional"] = True  # e.g. "mức lệ phí bằng 50% … đến hết ngày 31/12/2026"
    expired = [int(y) for y in EXPIRED.findall(note or "")]
    if expired and min(expired) < int(SNAPSHOT[:4]):
        fee["expired_rate_in_note"] = True
    return fee


def split_fees(raw: str) -> list[str]:
    """Items are joined by " | "; a bar inside a still-open parenthesis stays in its note."""
    items: list[str] = []
    for part in raw.split(" | "):
        if items and items[-1].count("(") > items[-1].count(")") and not FEE_START.match(part.strip()):
            items[-1] += " | " + part
        else:
            items.append(part)
    return [i.strip() for i in items if i.strip()]


def parse_channels(lines: list[str], stats: collections.Counter) -> list[dict[str, Any]]:
    """Each "Hình thức nộp" block; identical blocks are merged into one entry with several modes."""
    blocks: list[dict[str, list[str]]] = []
    field = None
    for ln in lines:
        if ln.startswith("  * Hình thức nộp:"):
            blocks.append({"mode": [ln.split(":", 1)[1].strip()], "duration": [], "fee": [], "desc": []})
            field = "mode"
        elif not blocks:
            continue
        elif field == "mode" and ln.startswith("    Thời hạn giải quyết:"):
            field = "duration"
            blocks[-1][field].append(ln.split(":", 1)[1])
        elif field in ("mode", "duration") and ln.startswith("    Phí, lệ phí:"):
            field = "fee"
            blocks[-1][field].append(ln.split(":", 1)[1])
        elif field in ("mode", "duration", "fee") and ln.startswith("    Mô tả:"):
            field = "desc"
            blocks[-1][field].append(ln.split(":", 1)[1])
        elif field and field != "mode":
            blocks[-1][field].append(ln)
    merged: dict[str, dict[str, Any]] = {}
    for b in blocks:
        desc = value(clean("\n".join(x.strip() for x in b["desc"]).strip(), stats))
        fee_raw = clean(" ".join(x.strip() for x in b["fee"]), stats)
        entry = {
            "description": desc,
            "duration": parse_duration(clean(" ".join(b["duration"]), stats), desc),
            "fees": [parse_fee_item(i) for i in split_fees(fee_raw)] if value(fee_raw) else [],
        }
        key = json.dumps(entry, sort_keys=True, ensure_ascii=False)
        mode = MODES.get(b["mode"][0], b["mode"][0].lower())
        merged.setdefault(key, {**entry, "modes": []})["modes"].append(mode)
    order = list(MODES.values())
    out = [dict(e, modes=sorted(set(e["modes"]), key=lambda m: order.index(m) if m in order else 9))
           for e in merged.values()]
    return sorted(out, key=lambda e: [order.index(m) if m in order else 9 for m in e["modes"]])


COUNT = re.compile(r"^\s*Số lượng:\s*Bản chính:\s*(\d+),\s*Bản sao:\s*(\d+)\s*$")


def parse_documents(lines: list[str], stats: collections.Counter) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    group = None
    for ln in lines:
        if ln.startswith("  [ ") and ln.rstrip().endswith("]"):
            group = value(BULLET.sub("", clean(ln.strip()[1:-1], stats)).strip())
        elif ln.startswith("    - "):
            name = BULLET.sub("", clean(ln[6:], stats)).strip()
            if name:
                docs.append({"copies": None, "group": group, "name": name, "originals": None})
        elif (m := COUNT.match(ln)) and docs:
            docs[-1]["originals"], docs[-1]["copies"] = int(m.group(1)), int(m.group(2))
        elif ln.strip() and docs and not ln.startswith("  ["):
            docs[-1]["name"] += " " + clean(ln, stats)
    return docs


def parse_legal(lines: list[str], stats: collections.Counter) -> list[dict[str, str | None]]:
    out = []
    for ln in lines:
        ln = clean(ln, stats)
        if not ln.startswith("*"):
            if out and ln:
                out[-1]["title"] = f"{out[-1]['title']} {ln}"
            continue
        text = ln[1:].strip()
        m = re.match(r"^(.*)\(([^()]*)\)$", text)
        title, number = (m.group(1).strip(), m.group(2).strip()) if m else (text, None)
        if number and title and not re.search(r"\d+/", number) and re.fullmatch(r"[\w./-]*\d+/[\w./-]+", title):
            title, number = number, title  # "06/2007/QH12 (Luật Hóa chất)": number and title swapped
        out.append({"number": number or None, "title": title or number})
    return out


def infer_levels(level: str | None, name: str, *agencies: str | None) -> list[str]:
    """The given level plus every level the agencies or the name's "cấp …" words point at."""
    levels = {level} if level else set()
    blob = " ".join(a for a in agencies if a).casefold()
    blob += " " + " ".join(f"cấp {m.casefold()}" for m in NAME_LEVEL.findall(name))
    for lvl, pattern in LEVEL_WORDS:
        if re.search(pattern, blob):
            levels.add(lvl)
    order = ["central", "province", "commune"]
    return sorted(levels, key=order.index)


def _province(name: str) -> str:
    for canon in PROVINCES.split("|"):
        if canon.casefold() == name.casefold():
            return "Huế" if canon == "Thừa Thiên Huế" else canon
    return name


def parse_record(text: str, source_file: str = "") -> dict[str, Any]:
    stats: collections.Counter = collections.Counter()
    sec = split_sections(text)
    rec: dict[str, Any] = {k: scalar(v, stats) for k, v in sec.items() if not k.startswith("_")}
    if not rec.get("code") or not rec.get("name"):
        raise RecordError(f"{source_file}: no code or name")
    flags: list[str] = []
    code = rec["code"]
    if not re.fullmatch(r"\d\.\d{6}", code):
        flags.append("code_irregular")
        if code.casefold().endswith("-xoa"):
            flags.append("source_marked_deleted")
    rec["level"] = LEVELS.get(rec["level_raw"] or "")
    rec["levels"] = infer_levels(rec["level"], rec["name"], rec.get("agency"), rec.get("competent_agency"))
    if rec["levels"] != ([rec["level"]] if rec["level"] else []):
        flags.append("levels_inferred")
    rec["steps"], dup_steps = parse_steps(sec["_steps"], stats)
    if dup_steps:
        flags.append("steps_deduplicated")
    rec["channels"] = parse_channels(sec["_channels"], stats)
    rec["documents"] = parse_documents(sec["_documents"], stats)
    rec["legal_basis"] = parse_legal(sec["_legal"], stats)
    if rec.get("description") and rec["description"] == rec.get("conditions"):
        rec["description"] = None
        flags.append("description_repeats_conditions")
    for ch in rec["channels"]:
        d = ch["duration"]
        if d["value"] is None:
            flags.append("duration_without_number" if d["raw"] else "duration_missing")
        if d.get("unit_conflict"):
            flags.append("duration_unit_conflict")
        if d["raw"] and d["unit"] == "OTHER":
            flags.append("duration_unit_other")
        for fee in ch["fees"]:
            flags.extend({"doubtful": ["fee_doubtful"], "see_note": ["fee_see_note"], "text": ["fee_text_only"],
                          "zero_without_note": ["fee_zero_without_note"]}.get(fee["status"], []))
            if fee.get("conditional"):
                flags.append("fee_conditional")
            if fee.get("expired_rate_in_note"):
                flags.append("fee_expired_rate_in_note")
        if len({(f["amount"], f["note"]) for f in ch["fees"]}) > 1:
            flags.append("fee_several")
    if not rec["channels"]:
        flags.append("channels_missing")
    if not rec["documents"]:
        flags.append("documents_missing")
    places = " ".join(x for x in (rec.get("agency"), rec.get("competent_agency"), rec.get("submit_address")) if x)
    named = {_province(m.group(1)) for m in PROVINCE.finditer(places.replace("oá", "óa").replace("oà", "òa"))}
    if named - OWN_PROVINCES:
        flags.append("agency_names_other_province")
    if named & OWN_PROVINCES:
        flags.append("agency_names_own_province")
    rec["provinces_named"] = sorted(named)
    if re.search(r"cấp huyện|UBND huyện|Ủy ban nhân dân huyện", " ".join([rec["name"], places]), re.I):
        flags.append("mentions_district_level")  # the district level was abolished on 1 July 2025
    flags.extend(sorted(stats))
    rec["online"] = any("online" in ch["modes"] for ch in rec["channels"])
    rec["flags"] = sorted(set(flags))
    present = {"channels.duration": any(c["duration"]["raw"] for c in rec["channels"]),
               "channels.fees": any(c["fees"] for c in rec["channels"])}
    rec["provenance"] = {
        "file": source_file, "snapshot": SNAPSHOT, "source": SOURCE,
        "unconfirmed": [f for f in UNCONFIRMED if present.get(f, rec.get(f))],
    }
    return rec
