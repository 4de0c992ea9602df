"""Administrative units (``bot/catalogue/units.py``): import from ``data/province.json`` and lookup."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import func, select

from bot.catalogue.units import UnitService, import_units
from bot.db.models import Agency, Unit
from bot.db.session import session_scope
from tests.services.conftest import PROVINCE_JSON, table_counts

CONFIG = json.loads(PROVINCE_JSON.read_text(encoding="utf-8"))


@pytest.fixture
def units(seeded_url: str) -> Iterator[UnitService]:
    with session_scope(seeded_url) as session:
        yield UnitService(session)


@pytest.mark.parametrize("place", ["xã Âu Lâu", "Xã Âu Lâu", "xa au lau", "XA AU LAU", "  xã   Âu Lâu  ",
                                   "Xã Âu Lâu, Thành phố Yên Bái"])
def test_former_commune_maps_to_current_ward(units: UnitService, place: str) -> None:
    match = units.find(place)
    assert match is not None
    assert match.unit.name == "Phường Âu Lâu"
    assert match.unit.kind == "ward"
    assert match.old_name is not None and match.old_name.startswith("Xã Âu Lâu")
    assert match.agency is not None and match.agency.name == "UBND Phường Âu Lâu"
    assert match.agency.level == "commune"


@pytest.mark.parametrize("place", ["Phường Âu Lâu", "phuong au lau", "Âu Lâu", "au lau"])
def test_current_name(units: UnitService, place: str) -> None:
    match = units.find(place)
    assert match is not None and match.unit.name == "Phường Âu Lâu"
    assert match.old_name is None


def test_former_town_maps_to_current_commune(units: UnitService) -> None:
    match = units.find("Thị trấn Mậu A")
    assert match is not None
    assert match.unit.name == "Xã Mậu A" and match.unit.kind == "commune"
    assert match.old_name == "Thị trấn Mậu A, Huyện Văn Yên"
    assert match.agency is not None and match.agency.desk_name == "Bộ phận Một cửa UBND Xã Mậu A"

    for place in ("thi tran mau a", "TT Mậu A", "tt mau a"):
        found = units.find(place)
        assert found is not None and found.unit.code == match.unit.code, place

    bare = units.find("Mậu A")
    assert bare is not None and bare.unit.code == match.unit.code
    assert bare.old_name is None  # the bare name is also the current name
    assert units.find("mau a").unit.code == match.unit.code  # type: ignore[union-attr]


@pytest.mark.parametrize("place", ["huyện Văn Yên", "Huyện Văn Yên", "huyen van yen", "Văn Yên", "van yen"])
def test_former_district(units: UnitService, place: str) -> None:
    match = units.find(place)
    assert match is not None
    assert match.unit.kind == "former_district"
    assert match.unit.name == "Huyện Văn Yên"
    assert match.unit.parent_code == CONFIG["province_code"]
    # a former district has no desk of its own: the province centre answers
    assert match.agency is not None and match.agency.code == CONFIG["centre"]["code"]
    # it lists the current units it was split into
    assert "Xã Mậu A" in match.unit.aliases


def test_ward_preferred_over_former_district_with_the_same_bare_name(units: UnitService) -> None:
    ward = units.find("phường Yên Bái")
    assert ward is not None and ward.unit.kind == "ward"
    city = units.find("thành phố Yên Bái")
    assert city is not None and city.unit.kind == "former_district"
    province = units.find("tỉnh Yên Bái")
    assert province is not None and province.unit.kind == "province"
    assert province.unit.name == CONFIG["current_province"]
    assert province.old_name == CONFIG["legacy_province"]


@pytest.mark.parametrize("place", ["nuôi cá sấu", "Xã Không Tồn Tại", "", "   ", "xã", "huyện", "12345",
                                   "Hà Nội Hà Nội Hà Nội"])
def test_nonsense_is_not_found(units: UnitService, place: str) -> None:
    assert units.find(place) is None


def test_small_typo_is_tolerated(units: UnitService) -> None:
    match = units.find("xã Âu Lau")  # missing accent on one syllable is just folding
    assert match is not None and match.unit.name == "Phường Âu Lâu"
    close = units.find("Mau Aa")
    assert close is None or close.unit.name == "Xã Mậu A"


def test_province_centre(units: UnitService) -> None:
    centre = units.province_centre()
    assert centre is not None
    cfg = CONFIG["centre"]
    assert centre.code == cfg["code"] and centre.level == "province"
    assert centre.name == cfg["name"]
    assert centre.hotline == cfg["hotline"]
    assert centre.address is None and "address" in centre.unconfirmed


def test_every_unit_has_a_desk(seeded_url: str) -> None:
    with session_scope(seeded_url) as session:
        rows = list(session.execute(select(Unit)).scalars())
        kinds = {u.kind for u in rows}
        assert kinds == {"province", "ward", "commune", "former_district"}
        assert all(u.agency_id is not None for u in rows)
        assert all(u.search_key for u in rows)
        agency_ids = set(session.execute(select(Agency.id)).scalars())
        assert {u.agency_id for u in rows} <= agency_ids
        # former names are kept as aliases of the current units
        current = [u for u in rows if u.kind in {"ward", "commune"}]
        assert all(u.aliases for u in current)


def test_import_units_is_idempotent(clean_db_url: str) -> None:
    with session_scope(clean_db_url) as session:
        first = import_units(session, PROVINCE_JSON)
    counts = table_counts(clean_db_url)
    assert first == {"units": 51, "former_districts": 9}
    assert counts["units"] == 1 + 51 + 9
    assert counts["agencies"] == 1 + 51

    with session_scope(clean_db_url) as session:
        ids = dict(session.execute(select(Unit.code, Unit.id)).all())
        second = import_units(session, PROVINCE_JSON)
    assert second == first
    assert table_counts(clean_db_url) == counts
    with session_scope(clean_db_url) as session:
        assert dict(session.execute(select(Unit.code, Unit.id)).all()) == ids
        assert session.execute(select(func.count(Agency.id)).where(Agency.level == "province")).scalar_one() == 1
        match = UnitService(session).find("xa au lau")
        assert match is not None and match.unit.name == "Phường Âu Lâu"


def test_import_units_updates_the_centre(clean_db_url: str, tmp_path: Path) -> None:
    with session_scope(clean_db_url) as session:
        import_units(session, PROVINCE_JSON)
    config = json.loads(PROVINCE_JSON.read_text(encoding="utf-8"))
    config["centre"]["address"] = "Số 1 đường Thử nghiệm"
    config["centre"]["unconfirmed"] = ["email"]
    path = tmp_path / "province.json"
    path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    with session_scope(clean_db_url) as session:
        import_units(session, path)
    with session_scope(clean_db_url) as session:
        centre = UnitService(session).province_centre()
        assert centre is not None
        assert centre.address == "Số 1 đường Thử nghiệm" and centre.unconfirmed == ["email"]
        assert session.execute(select(func.count(Agency.id)).where(Agency.level == "province")).scalar_one() == 1


def test_empty_database_finds_nothing(clean_db_url: str) -> None:
    with session_scope(clean_db_url) as session:
        service = UnitService(session)
        assert service.find("xã Âu Lâu") is None
        assert service.province_centre() is None
