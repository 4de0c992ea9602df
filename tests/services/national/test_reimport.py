"""Re-importing the national snapshot: only changes, prune rules, all-or-nothing validation, CLI, migration."""

from __future__ import annotations

import copy
import datetime as dt
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import pytest
import sqlalchemy as sa

from bot.catalogue.importer import CatalogueError
from bot.cli.db import db_init
from bot.db.session import alembic_config, get_engine, make_engine, upgrade
from tests.services.conftest import PROCEDURES_JSON, ROOT, table_counts
from tests.services.national.conftest import (
    NATIONAL,
    SOURCE,
    curated_doc,
    import_file,
    national_record,
    proc,
    sqlite_database,
    state,
    subset_file,
)
from tests.support.postgres import postgres_or_skip

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

    context = sqlite_database(f"sqlite:///{tmp_path / 'm.db'}") if backend == "sqlite" else postgres_or_skip("test_mig")
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
