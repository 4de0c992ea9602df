"""Administrative units and one-stop desks: import from ``vietnamadminunits``, lookup by old or new name.

The 2025 reorganisation merged communes, removed the district level and merged
Yên Bái into Lào Cai. Units are data: ``data/province.json`` names the legacy
province to import and the province service centre; the unit list and the
old→new mapping come from the maintained ``vietnamadminunits`` package.
"""

from __future__ import annotations

import difflib
import json
import logging
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from bot.catalogue.importer import search_key
from bot.db.models import Agency, Unit
from bot.settings import get_settings
from bot.text.normalize import clean, fold

logger = logging.getLogger(__name__)
_WORD_RE = re.compile(r"\w+")
_PREFIX_RE = re.compile(r"^(tinh|thanh pho|tp|huyen|thi xa|thi tran|quan|xa|phuong|tt)\s+")


def _strip_prefix(key: str) -> str:
    return _PREFIX_RE.sub("", key).strip()


@dataclass
class PlaceMatch:
    """A unit found from a citizen's place name; ``old_name`` set when they used a former name."""

    unit: Unit
    agency: Optional[Agency]
    old_name: Optional[str]


class UnitService:
    """Lookup of units and their one-stop desks."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def province_centre(self) -> Optional[Agency]:
        """The provincial public-administration service centre."""
        stmt = select(Agency).where(Agency.level == "province").order_by(Agency.id)
        return self.session.execute(stmt).scalars().first()

    def find(self, place: str) -> Optional[PlaceMatch]:
        """The unit named ``place`` (current or former name, with or without diacritics)."""
        key = fold(clean(place).lower())
        bare = _strip_prefix(key)
        if not bare:
            return None
        units = list(self.session.execute(select(Unit)).scalars())
        exact: List[PlaceMatch] = []
        names: Dict[str, PlaceMatch] = {}
        for unit in units:
            agency = self.session.get(Agency, unit.agency_id) if unit.agency_id else None
            for i, name in enumerate([unit.name, *unit.aliases]):
                match = PlaceMatch(unit, agency, None if i == 0 else name)
                folded = fold(name.lower())
                short = _strip_prefix(folded.split(",")[0])
                if folded == key or (short == bare and (key == bare or folded.split(",")[0] == key)):
                    exact.append(match)
                names.setdefault(short, match)
        if exact:
            # prefer the current name, then wards/communes over former districts
            exact.sort(key=lambda m: (m.old_name is not None, m.unit.kind == "former_district"))
            return exact[0]
        if bare in names:
            return names[bare]
        close = difflib.get_close_matches(bare, list(names), n=1, cutoff=0.85)
        return names[close[0]] if close else None

    def find_in_text(self, text: str) -> Optional[PlaceMatch]:
        """The unit a whole message names (current or former name, with or without the
        administrative word and diacritics): "bộ phận một cửa thị xã Nghĩa Lộ ở đâu"."""
        words = _WORD_RE.findall(fold(clean(text).lower()))
        folded = " " + " ".join(_ABBREVIATIONS.get(w, w) for w in words) + " "
        best: Optional[tuple] = None
        for unit in self.session.execute(select(Unit)).scalars():
            if unit.kind == "province":
                continue
            for score, former, name in _mentions(folded, unit):
                # longest name first; then the current name; then wards/communes over former districts
                rank = (score, not former, unit.kind != "former_district")
                if best is None or rank > best[0]:
                    best = (rank, unit, name if former else None)
        if best is None:
            return None
        _, unit, old_name = best
        agency = self.session.get(Agency, unit.agency_id) if unit.agency_id else None
        return PlaceMatch(unit, agency, old_name)


# Built once (issue 15): the named agency's hotline, and the provincial centre's.
_AGENCY_HOTLINE = select(Agency.hotline).where(Agency.name == bindparam("name"), Agency.hotline.is_not(None)).limit(1)
_PROVINCE_HOTLINE = select(Agency.hotline).where(
    Agency.level == "province", Agency.hotline.is_not(None)).order_by(Agency.id).limit(1)


def hotline(session: Session, agency_name: Optional[str] = None, fallback: Optional[str] = None) -> str:
    """The one hotline rule: the named agency's, else the provincial centre's, else ``FALLBACK_HOTLINE``."""
    if agency_name:
        found = session.execute(_AGENCY_HOTLINE, {"name": agency_name}).scalar()
        if found:
            return str(found)
    found = session.execute(_PROVINCE_HOTLINE).scalar()
    if found:
        return str(found)
    return fallback or get_settings().fallback_hotline


def hotline_or_fallback(agency_name: Optional[str] = None) -> str:
    """:func:`hotline` in its own session; the setting when the database cannot be read (logged)."""
    from bot.db.session import read_scope

    try:
        with read_scope() as session:
            return hotline(session, agency_name)
    except Exception:  # noqa: BLE001 - the database may be the thing that is down
        logger.warning("hotline lookup failed; using the setting")
    return get_settings().fallback_hotline


_ABBREVIATIONS = {"tp": "thanh pho", "tx": "thi xa", "tt": "thi tran", "p": "phuong", "x": "xa", "h": "huyen"}
_ADMIN_WORDS = (" xa ", " phuong ", " thi tran ", " huyen ", " thanh pho ", " ubnd ", " uy ban ")


def _mentions(folded_text: str, unit: Unit) -> List[tuple]:
    """(score, is_former_name, name) for every name of ``unit`` written in ``folded_text``.

    A name without its administrative word ("Nghĩa Lộ") counts only in a message that has
    one somewhere ("một cửa UBND Nghĩa Lộ"), so "hotline trung tâm" is the centre, not a ward.
    """
    out = []
    administrative = any(word in folded_text for word in _ADMIN_WORDS)
    for i, name in enumerate([unit.name, *unit.aliases]):
        full = fold(name.split(",")[0].lower()).strip()
        short = _strip_prefix(full)
        if f" {full} " in folded_text:
            out.append((100 + len(full), i > 0, name))
        elif administrative and len(short) >= 5 and " " in short and f" {short} " in folded_text:
            out.append((len(short), i > 0, name))
    return out


def _legacy_units(legacy_province: str) -> List[Dict[str, str]]:
    """Legacy (pre-2025) wards of a province from the package's bundled dataset."""
    import vietnamadminunits

    db = Path(vietnamadminunits.__file__).parent / "data" / "dataset.db"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT province, district, ward FROM admin_units_legacy WHERE province = ? ORDER BY district, ward",
            (legacy_province,),
        ).fetchall()
    return [{"province": p, "district": d, "ward": w} for p, d, w in rows]


def import_units(session: Session, config_path: Path) -> Dict[str, int]:
    """(Re)build units and agencies of the province described in ``config_path``."""
    from vietnamadminunits import convert_address

    config: Dict[str, Any] = json.loads(config_path.read_text(encoding="utf-8"))
    centre_cfg = config["centre"]
    centre = session.execute(select(Agency).where(Agency.code == centre_cfg["code"])).scalar_one_or_none()
    if centre is None:
        centre = Agency(code=centre_cfg["code"], level="province", name=centre_cfg["name"])
        session.add(centre)
    for key in ("name", "desk_name", "address", "opening_hours", "hotline", "email", "website", "source"):
        setattr(centre, key, centre_cfg.get(key))
    centre.unconfirmed = centre_cfg.get("unconfirmed", [])
    session.flush()

    province = session.execute(select(Unit).where(Unit.code == config["province_code"])).scalar_one_or_none()
    if province is None:
        province = Unit(code=config["province_code"], name=config["current_province"], kind="province")
        session.add(province)
    province.aliases = [config["legacy_province"]]
    province.search_key = search_key(province.name, *province.aliases)
    province.agency_id = centre.id

    new_units: Dict[str, Dict[str, Any]] = {}
    districts: Dict[str, List[str]] = {}
    for legacy in _legacy_units(config["legacy_province"]):
        converted = convert_address(f"{legacy['ward']}, {legacy['district']}, {legacy['province']}")
        if not converted.ward_code:
            logger.warning("no current unit for %s, %s", legacy["ward"], legacy["district"])
            continue
        entry = new_units.setdefault(converted.ward_code, {
            "name": converted.ward, "kind": "ward" if converted.ward_type == "Phường" else "commune",
            "aliases": [],
        })
        entry["aliases"].append(f"{legacy['ward']}, {legacy['district']}")
        districts.setdefault(legacy["district"], []).append(converted.ward_code)

    hours, hotline = config["commune_defaults"]["opening_hours"], config["commune_defaults"].get("hotline")
    existing = {u.code: u for u in session.execute(select(Unit)).scalars()}
    for code, entry in new_units.items():
        unit = existing.get(code) or Unit(code=code, kind=entry["kind"], name=entry["name"])
        session.add(unit)
        unit.name, unit.kind, unit.parent_code = entry["name"], entry["kind"], province.code
        unit.aliases = sorted(set(entry["aliases"]))
        unit.search_key = search_key(unit.name, *unit.aliases)
        agency_code = f"UB.{code}"
        agency = session.execute(select(Agency).where(Agency.code == agency_code)).scalar_one_or_none()
        if agency is None:
            agency = Agency(code=agency_code, level="commune", name=f"UBND {entry['name']}")
            session.add(agency)
        agency.desk_name = f"Bộ phận Một cửa UBND {entry['name']}"
        agency.address = f"Trụ sở UBND {entry['name']}, {config['current_province']}"
        agency.opening_hours, agency.hotline = hours, hotline
        agency.source = "vietnamadminunits (đơn vị hành chính sau sắp xếp 2025)"
        agency.unconfirmed = ["address", "hotline"] if not hotline else ["address"]
        session.flush()
        unit.agency_id = agency.id
    for district, codes in districts.items():
        code = f"D.{fold(district).lower().replace(' ', '')}"
        unit = existing.get(code) or Unit(code=code, kind="former_district", name=district)
        session.add(unit)
        unit.name, unit.kind, unit.parent_code = district, "former_district", province.code
        unit.aliases = sorted({session.execute(select(Unit.name).where(Unit.code == c)).scalar_one() for c in codes})
        unit.search_key = search_key(district)
        unit.agency_id = centre.id
    session.flush()
    return {"units": len(new_units), "former_districts": len(districts)}
