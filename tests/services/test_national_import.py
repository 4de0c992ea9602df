"""Import of the national catalogue (``data/national/procedures.json.gz``) beside the curated file.

On SQLite and PostgreSQL: the whole snapshot (5,652 procedures, central level included), the
curated records winning field by field and verified, the same rows whatever the order of the
files, re-imports reporting only what changed, doubtful fees never stored as a number, and a
bad record importing nothing. Expected values are read from the national file itself.
"""

from __future__ import annotations

import copy
import datetime as dt
import gzip
import json
import os
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
import sqlalchemy as sa

from bot.catalogue.importer import CatalogueError, ImportReport, import_catalogue
from bot.cli.db import db_init
from bot.db.models import Procedure
from bot.db.session import alembic_config, get_engine, make_engine, session_scope, upgrade
from tests.services.conftest import PROCEDURES_JSON, ROOT, table_counts, wipe
from tests.support.postgres import ON_POSTGRES, postgres_or_skip

NATIONAL = ROOT / "data" / "national" / "procedures.json.gz"
SNAPSHOT = dt.date(2026, 7, 17)
SOURCE = "CSDL quốc gia về TTHC"


@lru_cache(maxsize=1)
def _national_text() -> str:
    return gzip.decompress(NATIONAL.read_bytes()).decode("utf-8")


def national_doc() -> Dict[str, Any]:
    """A fresh copy of the shipped national catalogue."""
    return json.loads(_national_text())


def curated_doc() -> Dict[str, Any]:
    return json.loads(PROCEDURES_JSON.read_text(encoding="utf-8"))


def national_record(code: str) -> Dict[str, Any]:
    return next(p for p in national_doc()["procedures"] if p["code"] == code)


def import_file(url: str, path: Path, prune: bool = False) -> ImportReport:
    with session_scope(url) as session:
        return import_catalogue(session, path, prune=prune)


def subset_file(tmp_path: Path, codes: List[str], name: str = "subset.json", edit=None) -> Path:  # type: ignore[no-untyped-def]
    """A plain-JSON national file holding only ``codes`` (after ``edit(records_by_code)``)."""
    doc = national_doc()
    doc["procedures"] = [p for p in doc["procedures"] if p["code"] in set(codes)]
    if edit:
        edit({p["code"]: p for p in doc["procedures"]}, doc)
    path = tmp_path / name
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def proc(url: str, code: str) -> Procedure:
    with session_scope(url) as session:
        found = session.execute(sa.select(Procedure).where(Procedure.code == code)).unique().scalar_one()
        found.channels, found.documents  # noqa: B018 - loaded before the session closes
        return found


def state(url: str) -> Dict[str, Any]:
    """Every imported value (ids left out), by code: to compare two databases."""
    with get_engine(url).connect() as conn:
        procs = {r.id: r for r in conn.execute(sa.text(
            "SELECT p.*, f.name AS field_name FROM procedures p JOIN fields f ON f.id = p.field_id"))}
        out: Dict[str, Any] = {}
        for row in procs.values():
            values = {k: v for k, v in row._mapping.items() if k not in ("id", "field_id")}
            for key in ("aliases", "levels", "steps", "legal_basis", "unconfirmed", "flags", "layers"):
                if isinstance(values[key], str):  # SQLite returns JSON as text through text()
                    values[key] = json.loads(values[key])
            out[row.code] = dict(values, channels=[], documents=[])
            out[row.code]["checked_on"] = str(values["checked_on"])
            out[row.code]["verified_at"] = str(values["verified_at"])
        for r in conn.execute(sa.text("SELECT * FROM procedure_channels ORDER BY procedure_id, id")):
            out[procs[r.procedure_id].code]["channels"].append(
                (r.kind, r.duration, r.duration_days, r.fee, r.fee_vnd, r.fee_status, bool(r.fee_doubtful), r.note))
        for r in conn.execute(sa.text("SELECT * FROM procedure_documents ORDER BY procedure_id, position")):
            out[procs[r.procedure_id].code]["documents"].append(
                (r.position, r.name, r.kind, r.original, r.copy, r.template, r.group_name))
        return out


@pytest.fixture(params=["sqlite", ON_POSTGRES])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


def _fresh(backend: str, tmp_path_factory: pytest.TempPathFactory, prefix: str):  # type: ignore[no-untyped-def]
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp(prefix) / 'db.sqlite'}"
        upgrade(url)
        return _sqlite(url)
    return postgres_or_skip(f"test_{prefix}")


class _sqlite:
    def __init__(self, url: str) -> None:
        self.url = url

    def __enter__(self) -> str:
        return self.url

    def __exit__(self, *exc: object) -> None:
        get_engine(self.url).dispose()


@pytest.fixture(scope="module", params=["sqlite", ON_POSTGRES])
def module_backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def full_url(module_backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The whole national snapshot then the curated file, once per backend (read-only!)."""
    with _fresh(module_backend, tmp_path_factory, "national_full") as url:
        national = import_file(url, NATIONAL)
        assert (national.created, national.updated, national.removed) == (5652, 0, 0)
        curated = import_file(url, PROCEDURES_JSON)
        assert (curated.created, curated.updated) == (0, 58)
        yield url


@pytest.fixture(scope="module")
def empty_url(module_backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with _fresh(module_backend, tmp_path_factory, "national_empty") as url:
        yield url


@pytest.fixture
def clean_url(empty_url: str) -> str:
    wipe(empty_url)
    return empty_url


# --- the whole snapshot --------------------------------------------------------------------------

def test_every_national_procedure_is_imported(full_url: str) -> None:
    national = {p["code"] for p in national_doc()["procedures"]}
    curated = {p["code"] for p in curated_doc()["procedures"]}
    with session_scope(full_url) as session:
        codes = set(session.execute(sa.select(Procedure.code)).scalars())
        origins = dict(session.execute(sa.select(Procedure.origin, sa.func.count()).group_by(Procedure.origin)).all())
        levels = dict(session.execute(sa.select(Procedure.level, sa.func.count()).group_by(Procedure.level)).all())
    assert len(national) == 5652
    assert codes == national | curated
    assert origins == {"curated": len(curated), "national": len(codes - curated)}
    assert levels["central"] > 1000 and levels["province"] > 1000 and levels["commune"] > 500
    counts = table_counts(full_url)
    assert counts["procedures"] == len(national | curated)
    assert counts["documents"] > 25000 and counts["channels"] > 15000


def test_central_procedures_name_their_agency(full_url: str) -> None:
    idp = proc(full_url, "3.000353")
    assert idp.name == "Cấp giấy phép lái xe quốc tế"
    assert (idp.level, idp.levels, idp.origin) == ("central", ["central"], "national")
    assert idp.agency == "Cục cảnh sát giao thông"
    assert {c.kind for c in idp.channels} == {"direct", "online"}
    assert idp.online_url and idp.online_url.endswith("ma_thu_tuc=3.000353")
    with session_scope(full_url) as session:
        passports = session.execute(sa.select(Procedure.code, Procedure.level).where(
            Procedure.name.like("%hộ chiếu%"))).all()
    assert ("1.001471", "central") in passports and len(passports) >= 10
    passport = proc(full_url, "1.001471")
    assert passport.agency == "Cục quản lý xuất nhập cảnh"
    # a kind with two durations (5 days, 3 days in the cases of the law): each keeps the case it is for
    direct = [c for c in passport.channels if c.kind == "direct"]
    assert [c.duration_days for c in direct] == [5, 3] and all(c.note for c in direct)
    assert "khoản 4 Điều 15" in direct[1].note
    assert all(c.fee_vnd == 200000 and c.fee_status == "conditional" for c in passport.channels)


def test_provenance_of_a_national_record(full_url: str) -> None:
    idp = proc(full_url, "3.000353")
    assert (idp.source, idp.checked_on) == (SOURCE, SNAPSHOT)
    assert idp.verified_by is None and idp.verified_at is None and idp.layers is None
    rec = national_record("3.000353")
    assert set(idp.flags) >= set(rec["flags"])
    # the machine-read figures nobody confirmed, in the answers' vocabulary
    assert {"fee", "duration", "documents", "steps", "agency", "legal_basis", "level", "online_level"} \
        <= set(idp.unconfirmed)
    assert idp.decision == rec["decision"]
    assert idp.legal_basis == ["Luật Hóa chất 06/2007/QH12"]
    # every record carries its provenance
    with session_scope(full_url) as session:
        rows = session.execute(sa.select(Procedure.source, Procedure.checked_on, Procedure.unconfirmed)
                               .where(Procedure.origin == "national")).all()
    assert {(s, c) for s, c, _ in rows} == {(SOURCE, SNAPSHOT)}
    assert all("online_level" in u for _, _, u in rows)


def test_doubtful_fee_is_not_a_number(full_url: str) -> None:
    idp = proc(full_url, "3.000353")  # "0 VNĐ" while the note gives 135.000 đ: doubtful
    for channel in idp.channels:
        assert channel.fee_vnd is None and channel.fee_doubtful and channel.fee_status == "doubtful"
        assert "0 VNĐ" not in channel.fee and "Chưa xác định" in channel.fee
    customs = proc(full_url, "1.000014")  # "20 VNĐ (20.000 vnđ/tờ khai)": thousands
    assert all(c.fee_vnd is None and c.fee_doubtful for c in customs.channels)
    assert not any("20 VNĐ" in c.fee for c in customs.channels)
    with session_scope(full_url) as session:
        doubtful_with_number = session.execute(sa.text(
            "SELECT count(*) FROM procedure_channels WHERE fee_doubtful AND fee_vnd IS NOT NULL")).scalar_one()
        statuses = dict(session.execute(sa.text(
            "SELECT fee_status, count(*) FROM procedure_channels c JOIN procedures p ON p.id = c.procedure_id "
            "WHERE p.origin = 'national' GROUP BY fee_status")).all())
        unclear_numbers = session.execute(sa.text(
            "SELECT count(*) FROM procedure_channels WHERE fee_vnd IS NOT NULL AND fee_status IN "
            "('see_note', 'text', 'zero_without_note', 'several', 'missing', 'doubtful')")).scalar_one()
    assert doubtful_with_number == 0 and unclear_numbers == 0
    assert statuses["doubtful"] > 300 and statuses["zero_without_note"] > 1000 and statuses["amount"] > 1000


def test_amounts_and_durations(full_url: str) -> None:
    inspection = proc(full_url, "1.000017")  # 50000 VNĐ, 1 WORKING_DAY, three modes
    assert [(c.kind, c.fee_vnd, c.fee_status, c.fee_doubtful) for c in inspection.channels] == [
        ("direct", 50000, "amount", False), ("online", 50000, "amount", False), ("post", 50000, "amount", False)]
    assert inspection.channels[0].fee.startswith("50.000 đồng")
    assert (inspection.channels[0].duration, inspection.channels[0].duration_days) == ("1 ngày làm việc", 1)
    other = proc(full_url, "1.000005")  # "1 OTHER": no unit, no number quoted
    assert all(c.duration_days is None and "1" not in c.duration for c in other.channels)
    with session_scope(full_url) as session:
        day_counts = session.execute(sa.text(
            "SELECT count(*) FROM procedure_channels c JOIN procedures p ON p.id = c.procedure_id "
            "WHERE p.origin = 'national' AND duration_days IS NOT NULL AND duration NOT LIKE '% ngày%'")).scalar_one()
    assert day_counts == 0  # a number of days only where the record gives days (working or calendar)


def test_curated_record_wins_field_by_field_and_is_verified(full_url: str) -> None:
    src = next(p for p in curated_doc()["procedures"] if p["code"] == "1.001193")
    birth = proc(full_url, "1.001193")
    assert (birth.origin, birth.name, birth.agency) == ("curated", src["name"], src["agency"])
    assert [c.fee for c in birth.channels] == [c["fee"] for c in src["channels"]]
    assert [d.name for d in birth.documents] == [d["name"] for d in src["documents"]]
    assert birth.source == src["source"] and birth.checked_on == dt.date.fromisoformat(curated_doc()["checked_on"])
    assert birth.verified_by == "Trung tâm Phục vụ hành chính công tỉnh"
    assert birth.verified_at == birth.checked_on
    # fields the curated record does not give keep the national values
    rec = national_record("1.001193")
    assert birth.decision == rec["decision"] == "163/QĐ-BTP"
    assert birth.levels == ["commune"]
    assert birth.unconfirmed == src["unconfirmed"]  # everything it gives was checked except these
    # a curated record without conditions gets the national ones, and they stay unconfirmed
    gap = proc(full_url, "1.010041")
    assert gap.conditions == national_record("1.010041")["conditions"] and gap.conditions
    assert "conditions" in gap.unconfirmed and gap.origin == "curated"
    assert gap.layers["national"]["values"]["conditions"] == gap.conditions
    assert gap.layers["curated"]["values"]["conditions"] is None


def test_order_does_not_matter(full_url: str, clean_url: str) -> None:
    first = import_file(clean_url, PROCEDURES_JSON)
    second = import_file(clean_url, NATIONAL)
    assert (first.created, second.created, second.unchanged) == (58, 5652 - 58, 0)
    assert second.updated == 58 and set(second.changed_fields) >= {"layers", "levels", "decision"}
    assert "name" not in second.changed_fields and "channels" not in second.changed_fields
    assert state(clean_url) == state(full_url)
    # and importing both again changes nothing
    again = import_file(clean_url, NATIONAL)
    assert (again.created, again.updated, again.unchanged, again.changed_fields) == (0, 0, 5652, {})
    assert import_file(clean_url, PROCEDURES_JSON).changed_fields == {}
    assert state(clean_url) == state(full_url)


# --- re-importing a newer snapshot -------------------------------------------------------------------

SAMPLE = ["1.000017", "1.000014", "1.000005", "3.000353", "1.001471", "1.001193", "1.010041", "1.001445"]


def test_newer_snapshot_changes_only_what_changed(clean_url: str, tmp_path: Path) -> None:
    old = subset_file(tmp_path, SAMPLE, "old.json")
    assert import_file(clean_url, old).created == len(SAMPLE)
    assert import_file(clean_url, PROCEDURES_JSON).created == 58 - 2  # two curated codes are in the sample
    birth_before = state(clean_url)["1.001193"]

    def edit(recs: Dict[str, Dict[str, Any]], doc: Dict[str, Any]) -> None:
        recs["1.000017"]["channels"][0]["fees"][0].update(amount="60000 VNĐ", vnd=60000)
        recs["3.000353"]["name"] = "Cấp giấy phép lái xe quốc tế (IDP)"
        recs["1.001193"]["name"] = "Đăng ký khai sinh (tên trong CSDL mới)"  # curated: must not win
        recs["1.001193"]["decision"] = "999/QĐ-BTP"  # the curated file does not give it: must win
        new = copy.deepcopy(recs["1.001445"])
        new["code"] = "1.999999"
        doc["procedures"].append(new)
        doc["procedures"].remove(recs["1.000005"])
        doc["provenance"]["snapshot"] = "2026-08-01"

    newer = subset_file(tmp_path, SAMPLE, "newer.json", edit)
    report = import_file(clean_url, newer)
    # a new snapshot date is a change of every record it holds (5 national + 2 curated), nothing else
    assert (report.created, report.updated, report.removed, report.unchanged) == (1, 7, 0, 0)
    assert report.changed_fields == {"checked_on": 5, "layers": 2, "channels": 1, "name": 1, "search_key": 1,
                                     "decision": 1}
    after = state(clean_url)
    # 1.000005 is not in the newer file: kept without --prune
    assert "1.000005" in after and "1.999999" in after
    assert [c[4] for c in after["1.000017"]["channels"]] == [60000, 60000, 60000]
    assert after["3.000353"]["name"] == "Cấp giấy phép lái xe quốc tế (IDP)"
    birth = after["1.001193"]
    assert birth["name"] == birth_before["name"] == "Đăng ký khai sinh"
    assert birth["channels"] == birth_before["channels"] and birth["documents"] == birth_before["documents"]
    assert birth["decision"] == "999/QĐ-BTP" and birth["origin"] == "curated"
    assert birth["checked_on"] == birth_before["checked_on"]  # the curated check date stays
    assert birth["layers"]["national"]["values"]["name"] == "Đăng ký khai sinh (tên trong CSDL mới)"
    assert after["1.000017"]["checked_on"] == "2026-08-01"


def test_reimport_report_counts_changed_fields(clean_url: str, tmp_path: Path) -> None:
    import_file(clean_url, subset_file(tmp_path, SAMPLE, "old.json"))

    def edit(recs: Dict[str, Dict[str, Any]], doc: Dict[str, Any]) -> None:
        recs["1.000017"]["channels"][0]["fees"][0].update(amount="60000 VNĐ", vnd=60000)
        recs["3.000353"]["name"] = "Cấp giấy phép lái xe quốc tế (IDP)"
        new = copy.deepcopy(recs["1.001445"])
        new["code"] = "1.999999"
        doc["procedures"].append(new)
        doc["procedures"].remove(recs["1.000005"])

    newer = subset_file(tmp_path, SAMPLE, "newer.json", edit)
    report = import_file(clean_url, newer)
    assert (report.created, report.updated, report.removed, report.unchanged) == (1, 2, 0, len(SAMPLE) - 3)
    assert report.changed_fields == {"channels": 1, "name": 1, "search_key": 1}
    pruned = import_file(clean_url, newer, prune=True)
    assert (pruned.created, pruned.updated, pruned.removed, pruned.unchanged) == (0, 0, 1, len(SAMPLE))
    assert "1.000005" not in state(clean_url)


def test_prune_never_removes_curated_procedures(clean_url: str, tmp_path: Path) -> None:
    import_file(clean_url, subset_file(tmp_path, SAMPLE))
    import_file(clean_url, PROCEDURES_JSON)
    without_birth = subset_file(tmp_path, [c for c in SAMPLE if c != "1.001193"], "without.json")
    report = import_file(clean_url, without_birth, prune=True)
    assert (report.removed, report.updated) == (0, 1)
    assert report.changed_fields["layers"] == 1 and "name" not in report.changed_fields
    birth = state(clean_url)["1.001193"]
    assert birth["origin"] == "curated" and birth["layers"]["national"] is None
    assert birth["name"] == "Đăng ký khai sinh"


def test_curated_prune_falls_back_to_national_values(clean_url: str, tmp_path: Path) -> None:
    import_file(clean_url, subset_file(tmp_path, SAMPLE))
    doc = curated_doc()
    doc["procedures"] = [p for p in doc["procedures"] if p["code"] != "1.001193"]
    path = tmp_path / "curated.json"
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
    import_file(clean_url, PROCEDURES_JSON)
    report = import_file(clean_url, path, prune=True)
    assert report.removed == 0  # it has national values to fall back on
    birth = proc(clean_url, "1.001193")
    assert (birth.origin, birth.source, birth.verified_by) == ("national", SOURCE, None)
    assert birth.name == national_record("1.001193")["name"]
    # without national values, a curated procedure missing from the curated file is deleted
    assert import_file(clean_url, path, prune=True).removed == 0
    doc["procedures"] = [p for p in doc["procedures"] if p["code"] != "1.001022"]
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
    assert import_file(clean_url, path, prune=True).removed == 1


# --- validation: all or nothing -----------------------------------------------------------------------

BAD = [
    pytest.param(lambda r: r.update(level="district"), "level must be one of", id="level"),
    pytest.param(lambda r: r.update(name=""), "missing 'name'", id="no-name"),
    pytest.param(lambda r: r["channels"][0]["fees"][0].update(vnd="50000"), "fee vnd must be", id="fee-text"),
    pytest.param(lambda r: r["channels"][0]["fees"][0].update(status="doubtful", vnd=50000), "null when doubtful",
                 id="doubtful-with-number"),
    pytest.param(lambda r: r["channels"][0].update(modes=["fax"]), "channel modes", id="mode"),
    pytest.param(lambda r: r["documents"].append({"name": "", "originals": 1, "copies": 0}), "each document",
                 id="document"),
    pytest.param(lambda r: r.update(code="x"), "bad code", id="code"),
]


@pytest.mark.parametrize(("mutate", "message"), BAD)
def test_bad_record_imports_nothing(clean_url: str, tmp_path: Path, mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    import_file(clean_url, subset_file(tmp_path, SAMPLE[:3], "first.json"))
    before = state(clean_url)

    def edit(recs: Dict[str, Dict[str, Any]], doc: Dict[str, Any]) -> None:
        recs["3.000353"]["name"] = "SHOULD NOT BE WRITTEN"
        mutate(recs["1.000017"])

    path = subset_file(tmp_path, SAMPLE, "bad.json", edit)
    position = sorted(SAMPLE).index("1.000017") + 1  # the file keeps the national order (by code)
    with pytest.raises(CatalogueError) as info:
        import_file(clean_url, path, prune=True)
    assert info.value.unit == "record"
    assert [p for p, _ in info.value.problems] == [position]
    assert message in info.value.problems[0][1]
    assert info.value.problems[0][1].startswith("1.000017: " if "bad code" not in message else "x: ")
    assert state(clean_url) == before


def test_duplicate_codes_and_snapshot_date(tmp_path: Path, clean_url: str) -> None:
    def edit(recs: Dict[str, Dict[str, Any]], doc: Dict[str, Any]) -> None:
        doc["procedures"].append(copy.deepcopy(recs["1.000017"]))
        doc["provenance"]["snapshot"] = "17/07/2026"

    with pytest.raises(CatalogueError) as info:
        import_file(clean_url, subset_file(tmp_path, SAMPLE, "dup.json", edit))
    messages = [m for _, m in info.value.problems]
    assert any("snapshot" in m for m in messages)
    assert any(m.startswith("1.000017: duplicate code (first at record") for m in messages)
    assert table_counts(clean_url)["procedures"] == 0


# --- the command line, db-init and the migration --------------------------------------------------

def test_cli_imports_the_national_format(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    env = {**os.environ, "DATABASE_URL": url, "APP_ENV": "test", "LOG_LEVEL": "WARNING"}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bot.cli", "import-catalogue", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
    try:
        bad = subset_file(tmp_path, SAMPLE, "bad.json", lambda recs, doc: recs["1.000017"].update(level="x"))
        result = run(str(bad))
        assert result.returncode == 1 and "nothing imported" in result.stderr
        position = sorted(SAMPLE).index("1.000017") + 1
        assert f"{bad}: record {position}: 1.000017: level must be one of" in result.stderr, result.stderr
        gz = tmp_path / "sample.json.gz"
        gz.write_bytes(gzip.compress(subset_file(tmp_path, SAMPLE).read_bytes()))
        result = run(str(gz))
        assert result.returncode == 0, result.stderr
        assert f"imported: {len(SAMPLE)} created, 0 updated, 0 removed, 0 unchanged" in result.stdout
        result = run(str(gz))
        assert f"imported: 0 created, 0 updated, 0 removed, {len(SAMPLE)} unchanged" in result.stdout
        assert table_counts(url)["procedures"] == len(SAMPLE)
    finally:
        get_engine(url).dispose()


def test_db_init_can_skip_the_snapshot_and_load_it_later(clean_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.cli.db.NATIONAL_CATALOGUE", NATIONAL)
    report = db_init(clean_url, demo=False, national=False)
    assert "national_catalogue" not in report and report["catalogue"]["created"] == 58
    report = db_init(clean_url, demo=False)
    assert report["national_catalogue"]["created"] == 5652 - 58
    assert report["national_catalogue"]["seconds"] < 60
    assert "catalogue" not in report
    assert table_counts(clean_url)["procedures"] == 5652
    assert db_init(clean_url, demo=False) == {}  # nothing imported twice


def test_migration_keeps_existing_curated_rows_valid(backend: str, tmp_path: Path) -> None:
    from alembic import command

    context = _sqlite(f"sqlite:///{tmp_path / 'm.db'}") if backend == "sqlite" else postgres_or_skip("test_mig")
    with context as url:
        if backend == "sqlite":
            engine = make_engine(url)
            with engine.begin() as conn:
                cfg = alembic_config(url)
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "0002")
            engine.dispose()
        else:
            with get_engine(url).begin() as conn:
                cfg = alembic_config(url)
                cfg.attributes["connection"] = conn
                command.downgrade(cfg, "0002")
        with get_engine(url).begin() as conn:
            conn.execute(sa.text("INSERT INTO fields (id, name, search_key) VALUES (1, 'Hộ tịch', 'ho tich')"))
            conn.execute(sa.text(
                "INSERT INTO procedures (code, name, aliases, field_id, level, agency, steps, legal_basis, "
                "online_level, source, checked_on, unconfirmed, search_key) VALUES ('1.001193', 'Đăng ký khai sinh', "
                "'[]', 1, 'commune', 'UBND xã', '[]', '[]', 'none', 'x', '2026-11-24', '[]', 'dang ky khai sinh')"))
            conn.execute(sa.text("INSERT INTO procedure_channels (procedure_id, kind, duration, fee) "
                                 "SELECT id, 'direct', '1 ngày', 'Miễn phí' FROM procedures"))
        get_engine(url).dispose()
        upgrade(url)
        birth = proc(url, "1.001193")
        assert (birth.origin, birth.levels, birth.flags, birth.layers) == ("curated", ["commune"], [], None)
        assert (birth.verified_by, birth.verified_at) == ("Trung tâm Phục vụ hành chính công tỉnh",
                                                          dt.date(2026, 11, 24))
        assert [(c.fee_doubtful, c.fee_status) for c in birth.channels] == [(False, None)]
        # a snapshot imported over it keeps its (curated) values
        import_file(url, subset_file(tmp_path, ["1.001193"]))
        birth = proc(url, "1.001193")
        assert (birth.origin, birth.name, birth.agency) == ("curated", "Đăng ký khai sinh", "UBND xã")
        assert birth.decision == "163/QĐ-BTP"
        get_engine(url).dispose()
