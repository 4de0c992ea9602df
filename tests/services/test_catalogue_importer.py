"""Catalogue import (``bot/catalogue/importer.py``) and its CLI, on real databases.

The line numbers expected for bad records are computed independently of the importer:
files are written with ``json.dumps(indent=2)`` (the format of ``data/procedures.json``),
where every procedure object starts on a line that is exactly ``"    {"``.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from sqlalchemy import func, select

from bot.catalogue.importer import CatalogueError, import_catalogue, load_catalogue, search_key
from bot.db.models import Field, Procedure, ProcedureChannel, ProcedureDocument
from bot.db.session import get_engine, session_scope, upgrade
from tests.services.conftest import PROCEDURES_JSON, ROOT, table_counts

N_PROCEDURES = 58


# --- helpers --------------------------------------------------------------------------------

def real_doc() -> Dict[str, Any]:
    """A fresh copy of the shipped catalogue export."""
    return json.loads(PROCEDURES_JSON.read_text(encoding="utf-8"))


def write_doc(path: Path, doc: Dict[str, Any]) -> str:
    """Write ``doc`` like ``data/procedures.json`` (indent 2); returns the text."""
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    path.write_text(text, encoding="utf-8")
    return text


def record_lines(text: str) -> List[int]:
    """1-based line of every procedure object in an indent-2 export."""
    return [i for i, line in enumerate(text.splitlines(), 1) if line == "    {"]


def problems_of(path: Path) -> List[Tuple[int, str]]:
    with pytest.raises(CatalogueError) as info:
        load_catalogue(path)
    return info.value.problems


def snapshot(url: str) -> Dict[str, Any]:
    """Everything an import could change, in comparable form."""
    with session_scope(url) as session:
        procs = session.execute(select(Procedure).order_by(Procedure.code)).unique().scalars().all()
        return {
            "counts": table_counts(url),
            "procedures": [(p.id, p.code, p.name, p.level, p.field.name, p.search_key,
                            [(c.kind, c.fee, c.fee_vnd) for c in p.channels],
                            [(d.position, d.name, d.kind) for d in p.documents]) for p in procs],
        }


def import_file(url: str, path: Path, prune: bool = False):  # type: ignore[no-untyped-def]
    with session_scope(url) as session:
        return import_catalogue(session, path, prune=prune)


# --- the shipped catalogue ------------------------------------------------------------------

def test_shipped_catalogue_is_valid() -> None:
    checked_on, records = load_catalogue(PROCEDURES_JSON)
    assert len(records) == N_PROCEDURES
    assert checked_on.isoformat() == real_doc()["checked_on"]
    assert len({r["code"] for r in records}) == N_PROCEDURES


def test_import_into_fresh_database(db_url: str) -> None:
    report = import_file(db_url, PROCEDURES_JSON)
    assert (report.created, report.updated, report.removed) == (N_PROCEDURES, 0, 0)

    doc = real_doc()
    counts = table_counts(db_url)
    assert counts["procedures"] == N_PROCEDURES
    assert counts["channels"] == sum(len(p["channels"]) for p in doc["procedures"])
    assert counts["documents"] == sum(len(p["documents"]) for p in doc["procedures"])
    assert counts["fields"] == len({p["field"] for p in doc["procedures"]})

    with session_scope(db_url) as session:
        birth = session.execute(select(Procedure).where(Procedure.code == "1.001193")).unique().scalar_one()
        src = next(p for p in doc["procedures"] if p["code"] == "1.001193")
        assert birth.name == "Đăng ký khai sinh"
        assert birth.field.name == "Hộ tịch"
        assert birth.level == "commune"
        assert birth.checked_on.isoformat() == doc["checked_on"]
        assert birth.aliases == [a.strip().lower() for a in src["aliases"]]
        assert [c.kind for c in birth.channels] == [c["kind"] for c in src["channels"]]
        assert [d.name for d in birth.documents] == [d["name"] for d in src["documents"]]
        assert [d.position for d in birth.documents] == list(range(len(src["documents"])))
        # the search key is folded (no diacritics, no đ) and holds the name and every alias
        assert birth.search_key == search_key(src["name"], *[a.lower() for a in src["aliases"]])
        assert "dang ky khai sinh" in birth.search_key and "đ" not in birth.search_key
        assert birth.search_key.count("|") == len(src["aliases"])


def test_reimport_is_idempotent(clean_db_url: str) -> None:
    import_file(clean_db_url, PROCEDURES_JSON)
    before = snapshot(clean_db_url)
    report = import_file(clean_db_url, PROCEDURES_JSON)
    assert (report.created, report.updated, report.removed) == (0, N_PROCEDURES, 0)
    after = snapshot(clean_db_url)
    # same rows, same ids (updated in place), channels/documents not duplicated
    assert after == before


def test_reimport_replaces_channels_and_documents(clean_db_url: str, tmp_path: Path) -> None:
    import_file(clean_db_url, PROCEDURES_JSON)
    before = table_counts(clean_db_url)

    doc = real_doc()
    rec = doc["procedures"][0]
    assert len(rec["channels"]) == 3
    rec["name"] = "Đăng ký khai sinh (cập nhật)"
    rec["aliases"] = ["  Báo Sinh Cho Bé  ", ""]
    rec["channels"] = [{"kind": "direct", "duration": "1 ngày", "duration_days": 1, "fee": "10.000 đồng",
                        "fee_vnd": 10000}]
    rec["documents"] = list(reversed(rec["documents"]))[:2]
    rec["field"] = "Hộ tịch mới"
    path = tmp_path / "changed.json"
    write_doc(path, doc)

    report = import_file(clean_db_url, path)
    assert (report.created, report.updated, report.removed) == (0, N_PROCEDURES, 0)
    after = table_counts(clean_db_url)
    old_docs = len(real_doc()["procedures"][0]["documents"])
    assert after["procedures"] == N_PROCEDURES
    assert after["channels"] == before["channels"] - 2
    assert after["documents"] == before["documents"] - old_docs + 2
    assert after["fields"] == before["fields"] + 1  # a new field is created once

    with session_scope(clean_db_url) as session:
        proc = session.execute(select(Procedure).where(Procedure.code == rec["code"])).unique().scalar_one()
        assert proc.name == "Đăng ký khai sinh (cập nhật)"
        assert proc.aliases == ["báo sinh cho bé"]  # stripped, lower-cased, empty dropped
        assert proc.field.name == "Hộ tịch mới"
        assert [(c.kind, c.fee_vnd) for c in proc.channels] == [("direct", 10000)]
        assert [d.name for d in proc.documents] == [d["name"] for d in rec["documents"]]
        assert [d.position for d in proc.documents] == [0, 1]
        # no orphan rows left behind by the replacement
        ids = select(Procedure.id)
        assert session.execute(select(func.count(ProcedureChannel.id))
                               .where(ProcedureChannel.procedure_id.not_in(ids))).scalar_one() == 0
        assert session.execute(select(func.count(ProcedureDocument.id))
                               .where(ProcedureDocument.procedure_id.not_in(ids))).scalar_one() == 0


def test_prune_removes_missing_procedures(clean_db_url: str, tmp_path: Path) -> None:
    import_file(clean_db_url, PROCEDURES_JSON)
    doc = real_doc()
    stale = {p["code"] for p in doc["procedures"][50:]}
    doc["procedures"] = doc["procedures"][:50]
    path = tmp_path / "subset.json"
    write_doc(path, doc)

    with session_scope(clean_db_url) as session:
        stale_ids = list(session.execute(select(Procedure.id).where(Procedure.code.in_(stale))).scalars())
    assert len(stale_ids) == 8

    # without --prune nothing is removed
    report = import_file(clean_db_url, path)
    assert (report.created, report.updated, report.removed) == (0, 50, 0)
    assert table_counts(clean_db_url)["procedures"] == N_PROCEDURES

    report = import_file(clean_db_url, path, prune=True)
    assert (report.created, report.updated, report.removed) == (0, 50, 8)
    with session_scope(clean_db_url) as session:
        codes = set(session.execute(select(Procedure.code)).scalars())
        assert codes == {p["code"] for p in doc["procedures"]}
        assert not codes & stale
        # their channels and documents went with them (ON DELETE CASCADE)
        assert session.execute(select(func.count(ProcedureChannel.id))
                               .where(ProcedureChannel.procedure_id.in_(stale_ids))).scalar_one() == 0
        assert session.execute(select(func.count(ProcedureDocument.id))
                               .where(ProcedureDocument.procedure_id.in_(stale_ids))).scalar_one() == 0

    # importing the full file again brings them back as new procedures
    report = import_file(clean_db_url, PROCEDURES_JSON, prune=True)
    assert (report.created, report.updated, report.removed) == (8, 50, 0)


# --- bad exports: the right line, every problem ----------------------------------------------

def _set(key: str, value: Any):  # type: ignore[no-untyped-def]
    def mutate(rec: Dict[str, Any]) -> None:
        rec[key] = value
    return mutate


def _drop(key: str):  # type: ignore[no-untyped-def]
    def mutate(rec: Dict[str, Any]) -> None:
        del rec[key]
    return mutate


def _channel(**changes: Any):  # type: ignore[no-untyped-def]
    def mutate(rec: Dict[str, Any]) -> None:
        rec["channels"][0].update(changes)
        for key in [k for k, v in changes.items() if v is _MISSING]:
            del rec["channels"][0][key]
    return mutate


def _document(**changes: Any):  # type: ignore[no-untyped-def]
    def mutate(rec: Dict[str, Any]) -> None:
        rec["documents"][0].update(changes)
    return mutate


_MISSING = object()

BAD_RECORDS = [
    pytest.param(_set("level", "district"), "level must be one of", id="invalid-level"),
    pytest.param(_set("level", "Commune"), "level must be one of", id="level-case"),
    pytest.param(_drop("agency"), "missing 'agency'", id="missing-agency"),
    pytest.param(_drop("source"), "missing 'source'", id="missing-source"),
    pytest.param(_set("name", ""), "missing 'name'", id="empty-name"),
    pytest.param(_set("legal_basis", None), "missing 'legal_basis'", id="null-legal-basis"),
    pytest.param(_set("code", "abc"), "bad code 'abc'", id="bad-code"),
    pytest.param(_set("online_level", "maybe"), "online_level must be one of", id="bad-online-level"),
    pytest.param(lambda r: (r.__setitem__("online_level", "full"), r.pop("online_url", None)),
                 "online procedures need an online_url", id="online-without-url"),
    pytest.param(_set("channels", []), "channels must be a non-empty list", id="no-channels"),
    pytest.param(_channel(kind="fax"), "channel kind must be one of", id="bad-channel-kind"),
    pytest.param(_channel(fee=""), "needs duration and fee", id="channel-without-fee"),
    pytest.param(_channel(fee_vnd=-1), "fee_vnd must be a non-negative integer", id="negative-fee"),
    pytest.param(_channel(fee_vnd="50000"), "fee_vnd must be a non-negative integer", id="string-fee"),
    pytest.param(_channel(fee_vnd=1.5), "fee_vnd must be a non-negative integer", id="float-fee"),
    pytest.param(_channel(fee_vnd=True), "fee_vnd must be a non-negative integer", id="bool-fee"),
    pytest.param(_set("documents", "CCCD"), "documents must be a list", id="documents-not-list"),
    pytest.param(_document(kind="scan"), "each document needs a name and kind", id="bad-document-kind"),
    pytest.param(_document(name=""), "each document needs a name and kind", id="document-without-name"),
    pytest.param(_set("aliases", "sổ đỏ"), "aliases and legal_basis must be lists", id="aliases-not-list"),
]


@pytest.mark.parametrize(("mutate", "message"), BAD_RECORDS)
def test_bad_record_is_reported_at_its_line(tmp_path: Path, mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    doc = real_doc()
    index = 23
    mutate(doc["procedures"][index])
    path = tmp_path / "bad.json"
    text = write_doc(path, doc)
    line = record_lines(text)[index]

    problems = problems_of(path)
    assert [p[0] for p in problems] == [line], problems
    assert message in problems[0][1]
    # the message names the procedure (or '?' when it has no code)
    code = doc["procedures"][index].get("code")
    assert problems[0][1].startswith(f"{code}: " if code else "?: ")
    # str(CatalogueError) carries the line too
    with pytest.raises(CatalogueError, match=f"line {line}: "):
        load_catalogue(path)


def test_record_that_is_not_an_object(tmp_path: Path) -> None:
    doc = real_doc()
    doc["procedures"][7] = "Đăng ký khai sinh"
    path = tmp_path / "bad.json"
    text = write_doc(path, doc)
    line = next(i for i, s in enumerate(text.splitlines(), 1) if s == '    "Đăng ký khai sinh",')
    assert problems_of(path) == [(line, "?: a procedure must be an object")]


def test_duplicate_code_names_both_lines(tmp_path: Path) -> None:
    doc = real_doc()
    doc["procedures"][40]["code"] = doc["procedures"][5]["code"]
    path = tmp_path / "dup.json"
    lines = record_lines(write_doc(path, doc))
    code = doc["procedures"][5]["code"]
    assert problems_of(path) == [(lines[40], f"{code}: duplicate code (first at line {lines[5]})")]


def test_every_bad_record_is_listed_in_file_order(tmp_path: Path) -> None:
    doc = real_doc()
    doc["procedures"][3]["level"] = "district"
    doc["procedures"][30]["channels"][0]["fee_vnd"] = -5
    doc["procedures"][57]["code"] = doc["procedures"][0]["code"]
    del doc["procedures"][44]["documents"]
    path = tmp_path / "bad.json"
    lines = record_lines(write_doc(path, doc))
    problems = problems_of(path)
    assert [p[0] for p in problems] == [lines[3], lines[30], lines[44], lines[57]]
    assert "missing 'documents'" in problems[2][1]
    assert "duplicate code" in problems[3][1]


def test_failed_import_writes_nothing(clean_db_url: str, tmp_path: Path) -> None:
    import_file(clean_db_url, PROCEDURES_JSON)
    before = snapshot(clean_db_url)

    doc = real_doc()
    doc["procedures"][0]["name"] = "SHOULD NOT BE WRITTEN"
    doc["procedures"].append({**copy.deepcopy(doc["procedures"][1]), "code": "9.999999"})
    doc["procedures"][50]["level"] = "district"  # the bad record comes after the changes
    path = tmp_path / "bad.json"
    write_doc(path, doc)
    with pytest.raises(CatalogueError):
        import_file(clean_db_url, path, prune=True)
    assert snapshot(clean_db_url) == before


def test_error_during_upsert_rolls_everything_back(clean_db_url: str, tmp_path: Path) -> None:
    """A record that passes validation but fails while being written (bad per-record
    ``checked_on`` after 40 good ones): the session is rolled back, nothing stays."""
    import_file(clean_db_url, PROCEDURES_JSON)
    before = snapshot(clean_db_url)
    doc = real_doc()
    doc["procedures"][0]["name"] = "SHOULD NOT BE WRITTEN"
    doc["procedures"][0]["channels"] = doc["procedures"][0]["channels"][:1]
    doc["procedures"][40]["checked_on"] = "24/11/2026"
    path = tmp_path / "bad-date.json"
    write_doc(path, doc)
    with pytest.raises(ValueError):
        import_file(clean_db_url, path)
    assert snapshot(clean_db_url) == before


@pytest.mark.parametrize(("key", "value"), [
    pytest.param("checked_on", "24/11/2026", id="bad-record-date"),
    pytest.param("name", 123, id="name-not-string"),
    pytest.param("aliases", ["sổ đỏ", 7], id="alias-not-string"),
    pytest.param("field", ["Đất đai"], id="field-not-string"),
])
def test_wrongly_typed_values_are_validation_errors(tmp_path: Path, key: str, value: Any) -> None:
    doc = real_doc()
    doc["procedures"][40][key] = value
    path = tmp_path / "bad.json"
    lines = record_lines(write_doc(path, doc))
    assert [p[0] for p in problems_of(path)] == [lines[40]]


# --- the command line -------------------------------------------------------------------------

def _run_cli(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url, "APP_ENV": "test", "LOG_LEVEL": "WARNING"}
    return subprocess.run([sys.executable, "-m", "bot.cli", "import-catalogue", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_import_catalogue(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    try:
        doc = real_doc()
        doc["procedures"][5]["level"] = "district"
        doc["procedures"][20]["channels"][0]["fee_vnd"] = "free"
        doc["procedures"][33]["code"] = doc["procedures"][2]["code"]
        bad = tmp_path / "bad.json"
        lines = record_lines(write_doc(bad, doc))

        result = _run_cli(url, str(bad))
        assert result.returncode == 1, result.stderr
        for index in (5, 20, 33):
            assert f"{bad}:{lines[index]}: " in result.stderr
        assert "nothing imported" in result.stderr
        assert len([s for s in result.stderr.splitlines() if s.startswith(f"{bad}:")]) == 3
        assert table_counts(url)["procedures"] == 0

        broken = tmp_path / "broken.json"
        broken.write_text('{\n "procedures": [\n  {"code": }\n ]\n}\n', encoding="utf-8")
        result = _run_cli(url, str(broken))
        assert result.returncode == 1
        assert f"{broken}:3: invalid JSON" in result.stderr

        result = _run_cli(url, str(PROCEDURES_JSON))
        assert result.returncode == 0, result.stderr
        assert f"imported: {N_PROCEDURES} created, 0 updated, 0 removed" in result.stdout
        assert table_counts(url)["procedures"] == N_PROCEDURES

        subset = tmp_path / "subset.json"
        doc = real_doc()
        doc["procedures"] = doc["procedures"][:55]
        write_doc(subset, doc)
        result = _run_cli(url, str(subset), "--prune")
        assert result.returncode == 0, result.stderr
        assert "imported: 0 created, 55 updated, 3 removed" in result.stdout
        with session_scope(url) as session:
            assert session.execute(select(func.count(Procedure.id))).scalar_one() == 55
            assert session.execute(select(func.count(Field.id))).scalar_one() >= 1
    finally:
        get_engine(url).dispose()
