"""The training data store on SQLite and PostgreSQL: import, export, byte-identical round trip of the
repo's real data, edits with their warnings, audit and the changed flag, synonyms."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db.models import Field, Procedure
from bot.db.models_staff import AuditEntry
from bot.db.session import session_scope
from bot.settings import ROOT
from bot.training.examples import (
    Conflict,
    NotFound,
    TrainingDataError,
    add_example,
    delete_example,
    move_example,
    search_examples,
    warning_report,
)
from bot.training.export import export_nlu, render_files
from bot.training.importer import TrainingImportError, import_nlu
from bot.training.state import clear_changed, data_changed
from bot.training.synonyms import add_synonym, delete_synonym

REPO_NLU = ROOT / "nlu_data" / "nlu"


def test_repo_data_round_trips_byte_identical(db_url: str, tmp_path: Path):
    with session_scope(db_url) as s:
        stats = import_nlu(s, REPO_NLU, "dev")
        assert stats.files == len(list(REPO_NLU.glob("*.yml"))) and stats.examples > 1000 and not stats.warnings
    with session_scope(db_url) as s:
        first = export_nlu(s, tmp_path / "one")
    for path in REPO_NLU.glob("*.yml"):
        assert (tmp_path / "one" / path.name).read_bytes() == path.read_bytes(), path.name
    with session_scope(db_url) as s:
        assert not import_nlu(s, tmp_path / "one", "dev").changed  # the same data: the flag is not set again
    with session_scope(db_url) as s:
        second = export_nlu(s, tmp_path / "two")
    assert first == second
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == sorted(p.name for p in REPO_NLU.glob("*.yml"))


def test_header_comments_are_kept_and_bad_files_refused(db_url: str, tmp_path: Path):
    src = tmp_path / "src"
    src.mkdir()
    text = ('# Chào hỏi: viết tay\n# dòng hai\nversion: "3.1"\nnlu:\n- intent: greet\n  examples: |\n'
            '    - xin chào\n    - chao [ad]{"entity": "place", "value": "Yên Bái"}\n')
    (src / "a.yml").write_text(text, encoding="utf-8")
    with session_scope(db_url) as s:
        import_nlu(s, src, "dev")
    with session_scope(db_url) as s:
        export_nlu(s, tmp_path / "out")
    assert (tmp_path / "out" / "a.yml").read_text(encoding="utf-8") == text
    (src / "a.yml").write_text('version: "3.1"\nnlu:\n- regex: x\n  examples: |\n    - a\n', encoding="utf-8")
    with session_scope(db_url) as s, pytest.raises(TrainingImportError):
        import_nlu(s, src, "dev")
    (src / "a.yml").write_text('version: "3.1"\nnlu:\n- intent: ask_weather\n  examples: |\n    - a\n')
    with session_scope(db_url) as s, pytest.raises(TrainingImportError, match="ask_weather"):
        import_nlu(s, src, "dev")


def test_edits_warnings_audit_and_flag(db_url: str):
    with session_scope(db_url) as s:
        import_nlu(s, REPO_NLU, "dev")
        clear_changed(s)
    with session_scope(db_url) as s:
        assert not data_changed(s)
        first, warnings = add_example(s, "ask_fee", "lệ phí cấp  đổi [bằng lái](procedure) hết bao nhiêu", "trainer1")
        assert warnings == [] and first.text == "lệ phí cấp đổi [bằng lái](procedure) hết bao nhiêu"
        assert data_changed(s)
        _, warnings = add_example(s, "ask_fee", "le phi cap doi bang lai het bao nhieu", "trainer1")
        assert len(warnings) == 1 and "bỏ dấu" in warnings[0]
        _, warnings = add_example(s, "ask_duration", "Lệ phí cấp đổi bằng lái hết bao nhiêu?", "trainer1")
        assert any("ask_fee" in w for w in warnings)
        with pytest.raises(Conflict):  # the same plain text under another intent: rasa validate would fail
            add_example(s, "ask_place", "lệ phí cấp đổi bằng lái hết bao nhiêu", "trainer1")
        with pytest.raises(Conflict):
            add_example(s, "ask_fee", "lệ phí cấp đổi [bằng lái](procedure) hết bao nhiêu", "trainer1")
        with pytest.raises(NotFound):
            add_example(s, "ask_weather", "trời hôm nay thế nào", "trainer1")
        for bad in ("", "x" * 700, "[abc](không_có)", "mở [ngoặc", 12):
            with pytest.raises(TrainingDataError):
                add_example(s, "ask_fee", bad, "trainer1")  # type: ignore[arg-type]
        total, found = search_examples(s, "LE PHI CAP ĐỔI bang lai")
        assert total == 3 and {e.intent for e in found} == {"ask_fee", "ask_duration"}
        report = warning_report(s)
        assert any(set(c["intents"]) == {"ask_fee", "ask_duration"} for c in report["conflicts"])
        moved, _ = move_example(s, first.id, "ask_place", "trainer1")
        assert moved.intent == "ask_place"
        assert delete_example(s, first.id, "trainer1") == []
        with pytest.raises(NotFound):
            delete_example(s, first.id, "trainer1")
        actions = [a for a, in s.execute(select(AuditEntry.action).where(AuditEntry.actor == "trainer1"))]
        assert actions == ["training.example.add"] * 3 + ["training.example.move", "training.example.delete"]
        files = render_files(s)
    assert "    - le phi cap doi bang lai het bao nhieu\n" in files["procedures.yml"].decode()


def test_moving_every_example_empties_an_intent_with_a_warning(db_url: str):
    with session_scope(db_url) as s:
        import_nlu(s, REPO_NLU, "dev")
        _, examples = search_examples(s, intent="bot_challenge", limit=500)
        warnings = []
        for example in examples:
            warnings += move_example(s, example.id, "help", "trainer1")[1]
        assert any("bot_challenge không còn ví dụ" in w for w in warnings)
        assert "- intent: bot_challenge" not in render_files(s)["chitchat.yml"].decode()


def test_synonyms_export_and_conflicts(db_url: str, tmp_path: Path):
    with session_scope(db_url) as s:
        field = Field(name="Hộ tịch", search_key="ho tich")
        s.add(field)
        s.flush()
        s.add(Procedure(code="1.000656", name="Đăng ký khai tử", field_id=field.id, level="commune", agency="",
                        source="test", checked_on=dt.date(2025, 1, 1)))
    with session_scope(db_url) as s:
        synonym = add_synonym(s, "1.000656", "báo chết cho người nhà", "trainer1")
        with pytest.raises(Conflict):
            add_synonym(s, "1.000656", "bao chet cho nguoi nha", "trainer1")
        with pytest.raises(Conflict):  # generated from the catalogue already
            add_synonym(s, "1.000656", "dang ky khai tu", "trainer1")
        with pytest.raises(NotFound):
            add_synonym(s, "9.999999", "gì đó", "trainer1")
        export_nlu(s, tmp_path)
    assert (tmp_path / "synonyms.yml").read_text(encoding="utf-8") == (
        'version: "3.1"\nnlu:\n- synonym: "1.000656"\n  examples: |\n    - báo chết cho người nhà\n')
    with session_scope(db_url) as s:
        import_nlu(s, tmp_path, "dev")
        assert render_files(s)["synonyms.yml"] == (tmp_path / "synonyms.yml").read_bytes()
    with session_scope(db_url) as s:
        delete_synonym(s, s.execute(select(AuditEntry.entity_id).where(
            AuditEntry.action == "training.synonym.add")).scalar_one() and _only_synonym_id(s), "trainer1")
        export_nlu(s, tmp_path)
    assert not (tmp_path / "synonyms.yml").exists() and synonym["value"] == "1.000656"


def _only_synonym_id(session) -> int:  # type: ignore[no-untyped-def]
    from bot.db.models_training_data import TrainingSynonym

    return session.execute(select(TrainingSynonym.id)).scalar_one()
