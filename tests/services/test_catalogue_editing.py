"""Staff edits of the catalogue (bot/catalogue/editor, bulk, browse) on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Iterator

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.catalogue import browse, bulk, editor
from bot.catalogue.diff import diff_records
from bot.catalogue.importer import import_catalogue
from bot.catalogue.retrain import clear_retrain, retrain_flag, retrain_needed
from bot.catalogue.service import CatalogueService
from bot.catalogue.version import catalogue_version
from bot.cli.nlu_data import LOOKUPS
from bot.db.models import Procedure
from bot.db.models_catalogue import ProcedureRevision
from bot.db.models_staff import AuditEntry
from bot.db.session import session_scope
from bot.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]
BIRTH = "1.001193"
TODAY = dt.date.today()


@pytest.fixture
def catalogue_url(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``db_url`` with the curated catalogue; the NLU lookups are written to a scratch file."""
    monkeypatch.setenv("CATALOGUE_LOOKUPS_FILE", str(tmp_path / "catalogue.yml"))
    get_settings.cache_clear()
    with session_scope(db_url) as session:
        import_catalogue(session, ROOT / "data" / "procedures.json")
    yield db_url
    get_settings.cache_clear()


def _direct(record: dict) -> dict:
    return next(c for c in record["channels"] if c["kind"] == "direct")


def _count(session, model) -> int:  # type: ignore[no-untyped-def]
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_an_edit_is_validated_like_the_importer_and_then_saved_verified_versioned_and_audited(catalogue_url):
    with session_scope(catalogue_url) as session:
        version = catalogue_version(session)
        record, meta = editor.load_record(session, BIRTH)
        assert meta["origin"] == "curated" and _direct(record)["fee"].startswith("Miễn lệ phí")
        _direct(record)["fee"] = "Miễn lệ phí; bản sao Giấy khai sinh 10.000 đồng/bản"
        with pytest.raises(editor.EditError) as missing:
            editor.save_record(session, BIRTH, record, "editor1", "", None)
        assert len(missing.value.problems) == 2  # source and check date
        bad = dict(record, level="huyen", online_url=None)
        with pytest.raises(editor.EditError) as invalid:
            editor.save_record(session, BIRTH, bad, "editor1", "QĐ 163/QĐ-BTP", TODAY)
        assert any("cấp thực hiện" in p for p in invalid.value.problems)
        assert any("địa chỉ trực tuyến" in p for p in invalid.value.problems)
        assert _count(session, ProcedureRevision) == 0 and catalogue_version(session) == version

        change = editor.save_record(session, BIRTH, record, "editor1", "Nghị quyết HĐND tỉnh 2026", TODAY, "mức mới")
        assert change.revision == 2 and "channels" in change.fields and "name" not in change.fields
    with session_scope(catalogue_url) as session:
        assert catalogue_version(session) == version + 1
        proc = CatalogueService(session).get(BIRTH)
        assert proc is not None and proc.verified_by == "editor1" and proc.verified_at == TODAY
        assert next(c for c in proc.channels if c.kind == "direct").fee.endswith("10.000 đồng/bản")
        assert proc.source == "Nghị quyết HĐND tỉnh 2026" and proc.checked_on == TODAY
        entry = session.execute(select(AuditEntry).where(AuditEntry.entity_id == BIRTH)).scalar_one()
        assert entry.actor == "editor1" and entry.action == "catalogue.edit" and entry.note == "mức mới"
        assert _direct(entry.before)["fee"].startswith("Miễn lệ phí (đăng ký đúng hạn)")
        assert _direct(entry.after)["fee"].endswith("10.000 đồng/bản")
        assert not retrain_needed(session)  # no name changed


def test_saving_the_same_record_changes_nothing(catalogue_url):
    with session_scope(catalogue_url) as session:
        record, _ = editor.load_record(session, BIRTH)
        version = catalogue_version(session)
        change = editor.save_record(session, BIRTH, record, "editor1", record["source"],
                                    dt.date.fromisoformat(record["checked_on"]))
        assert change.revision is None and catalogue_version(session) == version
        with pytest.raises(editor.UnknownProcedure):
            editor.save_record(session, "9.999999", record, "editor1", "x", TODAY)


def test_a_new_alias_rewrites_the_lookups_flags_retraining_and_reaches_the_search(catalogue_url):
    out = Path(get_settings().catalogue_lookups_file)
    with session_scope(catalogue_url) as session:
        assert not CatalogueService(session).find("mừng thiên thần nhỏ ra đời")
        editor.refresh_lookups(session)  # from the database: the same synonyms as gen-lookups writes
        assert out.read_text(encoding="utf-8").split("\n", 1)[1] == LOOKUPS.read_text(encoding="utf-8").split("\n", 1)[1]
        record, _ = editor.load_record(session, BIRTH)
        record["aliases"].append("mừng thiên thần nhỏ ra đời")
        change = editor.save_record(session, BIRTH, record, "editor1", "Cán bộ tư pháp xã", TODAY)
        assert change.fields[:1] == ["aliases"]
    with session_scope(catalogue_url) as session:
        assert "      - mừng thiên thần nhỏ ra đời" in out.read_text(encoding="utf-8")
        flag = retrain_flag(session)
        assert flag is not None and flag.needed and flag.changed_by == "editor1" and BIRTH in flag.reason
        assert CatalogueService(session).find("mừng thiên thần nhỏ ra đời")[0].code == BIRTH  # index rebuilt
        assert CatalogueService(session).resolve("mừng thiên thần nhỏ ra đời")[0] == BIRTH
        clear_retrain(session, "trainer1")
    with session_scope(catalogue_url) as session:
        assert not retrain_needed(session)


def test_history_diffs_each_change_and_a_revert_is_a_new_audited_change(catalogue_url):
    with session_scope(catalogue_url) as session:
        record, _ = editor.load_record(session, BIRTH)
        original_fee = _direct(record)["fee"]
        _direct(record)["fee"] = "50.000 đồng"
        _direct(record)["fee_vnd"] = 50000
        editor.save_record(session, BIRTH, record, "editor1", "Nguồn A", TODAY)
        record["name"] = "Đăng ký khai sinh (đúng hạn)"
        editor.save_record(session, BIRTH, record, "editor1", "Nguồn B", TODAY)
    with session_scope(catalogue_url) as session:
        revs = editor.revisions(session, BIRTH)
        assert [(r.number, r.action) for r in revs] == [(1, "baseline"), (2, "edit"), (3, "edit")]
        lines = {d.label: (d.before, d.after) for d in diff_records(revs[0].record, revs[1].record)}
        assert lines["Lệ phí (trực tiếp)"] == (original_fee, "50.000 đồng")
        assert lines["Lệ phí (đồng) (trực tiếp)"] == ("0", "50000")
        assert lines["Nguồn"][1] == "Nguồn A"
        assert {d.label for d in diff_records(revs[1].record, revs[2].record)} == {"Tên thủ tục", "Nguồn"}
        change = editor.revert(session, BIRTH, 1, "editor1")
        assert change.revision == 4
    with session_scope(catalogue_url) as session:
        now, _ = editor.load_record(session, BIRTH)
        base = editor.revision(session, BIRTH, 1).record
        assert now == base  # every field as it was, source and check date included
        rev = editor.revision(session, BIRTH, 4)
        assert rev.action == "revert" and rev.reverted_from == 1
        actions = session.execute(select(AuditEntry.action).where(AuditEntry.entity_id == BIRTH)
                                  .order_by(AuditEntry.id)).scalars().all()
        assert actions == ["catalogue.edit", "catalogue.edit", "catalogue.revert"]
        assert retrain_needed(session)  # the name changed (and changed back)
        with pytest.raises(editor.UnknownProcedure):
            editor.revert(session, BIRTH, 99, "editor1")


def test_browse_searches_without_diacritics_and_filters(catalogue_url):
    with session_scope(catalogue_url) as session:
        rows, total, pages = browse.browse(session, browse.Filters(q="dang ky khai sinh"))
        assert rows[0].code == BIRTH and total >= 2 and pages == 1
        assert browse.browse(session, browse.Filters(q="ĐĂNG KÝ   khai-sinh"))[0][0].code == BIRTH
        assert browse.browse(session, browse.Filters(q="1.0011"))[0][0].code.startswith("1.0011")
        assert browse.browse(session, browse.Filters(q="100%_x"))[1] == 0  # LIKE wildcards are literal
        hotich = next(i for i, n in browse.fields(session) if n == "Hộ tịch")
        rows, total, _ = browse.browse(session, browse.Filters(field_id=hotich, level="commune"))
        assert total >= 5 and all(r.field == "Hộ tịch" and r.level == "commune" for r in rows)
        assert browse.browse(session, browse.Filters(origin="national"))[1] == 0
        all_rows = browse.browse(session, browse.Filters(), per_page=1000)[0]
        unconfirmed = browse.browse(session, browse.Filters(unconfirmed=True), per_page=1000)[0]
        assert {r.code for r in unconfirmed} == {r.code for r in all_rows if r.unconfirmed}
        online = browse.browse(session, browse.Filters(online_level="full"), per_page=1000)[0]
        assert online and all(r.online_level == "full" for r in online)
        first, total, pages = browse.browse(session, browse.Filters(), page=2, per_page=20)
        assert len(first) == 20 and pages == -(-total // 20)


def _workbook_bytes(book) -> bytes:  # type: ignore[no-untyped-def]
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_excel_export_edit_import_changes_only_what_was_edited(catalogue_url):
    with session_scope(catalogue_url) as session:
        data = bulk.export_excel(browse.records(session, browse.Filters(q="khai sinh")))
    book = load_workbook(io.BytesIO(data))
    sheet = book["Cách nộp"]
    header = [c.value for c in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == BIRTH and r[1].value == "direct")
    row[header.index("Lệ phí")].value = "Miễn lệ phí; bản sao 12.000 đồng/bản"
    edited = _workbook_bytes(book)
    with session_scope(catalogue_url) as session:
        parsed = bulk.parse_excel(edited)
        result = bulk.import_records(session, parsed, "editor1", TODAY, "bảng Excel")
        assert [c.code for c in result.changes] == [BIRTH] and result.unchanged == len(parsed.records) - 1
    with session_scope(catalogue_url) as session:
        record, meta = editor.load_record(session, BIRTH)
        assert _direct(record)["fee"] == "Miễn lệ phí; bản sao 12.000 đồng/bản" and meta["verified_by"] == "editor1"
        assert editor.revisions(session, BIRTH)[-1].action == "import"


def test_a_malformed_sheet_lists_row_errors_and_imports_nothing(catalogue_url):
    with session_scope(catalogue_url) as session:
        data = bulk.export_excel(browse.records(session, browse.Filters(q="khai sinh")))
        version = catalogue_version(session)
    book = load_workbook(io.BytesIO(data))
    book["Thủ tục"]["B2"].value = None  # a name removed
    book["Thủ tục"]["N3"].value = "Một thay đổi hợp lệ ở hàng khác."
    book["Cách nộp"]["D2"].value = "ba ngày"  # "Số ngày" is not a number
    book["Giấy tờ"].append(["9.999999", "Giấy lạ", "submit", 1, 0, None, None])
    with session_scope(catalogue_url) as session:
        with pytest.raises(bulk.ImportProblems) as caught:
            bulk.import_records(session, bulk.parse_excel(_workbook_bytes(book)), "editor1", TODAY)
    messages = "\n".join(f"{w}: {m}" for w, m in caught.value.problems)
    assert "Thủ tục, hàng 2: " in messages and "thiếu «Tên thủ tục»" in messages
    assert "Cách nộp, hàng 2: «Số ngày» phải là số nguyên" in messages
    assert "mã «9.999999» không có trong trang Thủ tục" in messages
    del book["Giấy tờ"]
    with pytest.raises(bulk.ImportProblems) as missing:
        bulk.parse_excel(_workbook_bytes(book))
    assert ("Giấy tờ", "thiếu trang «Giấy tờ»") in missing.value.problems
    with pytest.raises(bulk.ImportProblems):
        bulk.parse_excel(b"PK\x03\x04 not really a workbook")
    with session_scope(catalogue_url) as session:
        assert catalogue_version(session) == version and _count(session, ProcedureRevision) == 0


def test_only_changed_records_must_pass_the_importers_validation(catalogue_url):
    with session_scope(catalogue_url) as session:
        record, _ = editor.load_record(session, BIRTH)
        # a machine-read record as the national snapshot gives it: no agency, which the importer refuses
        session.execute(Procedure.__table__.update().where(Procedure.code == "1.000894").values(agency=""))
        data = bulk.export_excel(browse.records(session, browse.Filters(q="dang ky")))
    book = load_workbook(io.BytesIO(data))
    main = book["Thủ tục"]
    row = next(r for r in main.iter_rows(min_row=2) if r[0].value == BIRTH)
    row[13].value = "Ghi chú mới."
    with session_scope(catalogue_url) as session:
        result = bulk.import_records(session, bulk.parse_excel(_workbook_bytes(book)), "editor1", TODAY)
        assert [c.code for c in result.changes] == [BIRTH]
    marriage = next(r for r in main.iter_rows(min_row=2) if r[0].value == "1.000894")
    marriage[13].value = "Sửa bản ghi thiếu cơ quan."
    with session_scope(catalogue_url) as session:
        with pytest.raises(bulk.ImportProblems) as caught:
            bulk.import_records(session, bulk.parse_excel(_workbook_bytes(book)), "editor1", TODAY)
        assert caught.value.problems == [(f"Thủ tục, hàng {marriage[0].row}", "1.000894: thiếu «Cơ quan giải quyết»")]


def test_json_import_reports_file_and_line_and_adds_new_procedures(catalogue_url):
    with session_scope(catalogue_url) as session:
        doc = json.loads(bulk.export_json(browse.records(session, browse.Filters(q=BIRTH))))
    new = dict(doc["procedures"][0], code="2.000999", name="Thủ tục thử nghiệm mới", aliases=[])
    bad = dict(doc["procedures"][0], code="2.000998", level="huyen")
    text = json.dumps({"version": 1, "procedures": [new, bad]}, ensure_ascii=False, indent=2)
    with session_scope(catalogue_url) as session:
        with pytest.raises(bulk.ImportProblems) as caught:
            bulk.import_records(session, bulk.parse_json(text.encode(), "moi.json"), "editor1", TODAY)
    (where, message), = caught.value.problems
    bad_line = next(i for i, t in enumerate(text.splitlines(), start=1) if '"2.000998"' in t) - 1
    assert where == f"moi.json:{bad_line}" and message.startswith("2.000998: cấp thực hiện")
    with pytest.raises(bulk.ImportProblems) as broken:
        bulk.parse_json(b'{"procedures": [\n  {"code": 1,}\n]}', "x.json")
    assert broken.value.problems[0][0] == "x.json:2" and "JSON không hợp lệ" in broken.value.problems[0][1]
    good = json.dumps({"version": 1, "procedures": [new]}, ensure_ascii=False).encode()
    with session_scope(catalogue_url) as session:
        result = bulk.import_records(session, bulk.parse_json(good, "moi.json"), "editor1", TODAY)
        assert [(c.code, c.created) for c in result.changes] == [("2.000999", True)]
    with session_scope(catalogue_url) as session:
        assert CatalogueService(session).get("2.000999").name == "Thủ tục thử nghiệm mới"
        assert retrain_needed(session)  # a new name


def test_excel_keeps_formula_like_text_as_text_and_long_cells_it_cuts(catalogue_url):
    long_text = "Điều kiện rất dài. " * 2500  # 47,500 characters: more than an Excel cell holds
    with session_scope(catalogue_url) as session:
        record, _ = editor.load_record(session, BIRTH)
        record.update(notes="=HYPERLINK(\"http://example.invalid\")", conditions=long_text.strip())
        editor.save_record(session, BIRTH, record, "editor1", "Nguồn", TODAY)
        data = bulk.export_excel(browse.records(session, browse.Filters(q=BIRTH)))
    cell = load_workbook(io.BytesIO(data))["Thủ tục"]["N2"]
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")
    with session_scope(catalogue_url) as session:
        result = bulk.import_records(session, bulk.parse_excel(data), "editor2", TODAY)
        assert result.changes == [] and result.unchanged == 1
        assert editor.load_record(session, BIRTH)[0]["conditions"] == long_text.strip()
