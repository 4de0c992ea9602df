"""Catalogue import errors name the right line, whatever the file's layout (compact, CRLF, nested keys)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.catalogue.importer import load_catalogue
from tests.services.test_catalogue_importer import problems_of, real_doc, record_lines, write_doc


def test_lines_of_a_compact_export(tmp_path: Path) -> None:
    """One procedure per line, the first on the same line as the list: lines still right."""
    doc = real_doc()
    procs = doc["procedures"]
    procs[0]["level"] = "x"
    procs[12]["level"] = "x"
    text = ('{"version": 1, "checked_on": "2026-11-24",\n\n "procedures": [' + json.dumps(procs[0], ensure_ascii=False)
            + ",\n" + ",\n   ".join(json.dumps(p, ensure_ascii=False) for p in procs[1:]) + "\n]}\n")
    path = tmp_path / "compact.json"
    path.write_text(text, encoding="utf-8")
    assert [p[0] for p in problems_of(path)] == [3, 3 + 12]


def test_lines_with_windows_line_endings(tmp_path: Path) -> None:
    doc = real_doc()
    doc["procedures"][9]["level"] = "x"
    text = json.dumps(doc, indent=2, ensure_ascii=False)
    path = tmp_path / "crlf.json"
    path.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    assert [p[0] for p in problems_of(path)] == [record_lines(text)[9]]


@pytest.mark.parametrize("broken", ['      "level": commune,', '      "level": "commune",,', "      ,"])
def test_invalid_json_names_the_broken_line(tmp_path: Path, broken: str) -> None:
    text = json.dumps(real_doc(), indent=2, ensure_ascii=False) + "\n"
    lines = text.splitlines()
    at = record_lines(text)[31] + 3  # inside the 32nd procedure
    lines.insert(at - 1, broken)  # becomes line ``at``
    path = tmp_path / "broken.json"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    problems = problems_of(path)
    assert len(problems) == 1
    assert problems[0][0] == at
    assert problems[0][1].startswith("invalid JSON: ")


@pytest.mark.parametrize(("text", "line"), [
    ("", 1),
    ("[]", 1),
    ('{"version": 1}', 1),
    ('{"version": 1,\n "procedures": {}}', 1),
    ('{"version": 1,\n "procedures": [\n  {"code": "1.000001"\n', 4),  # truncated file
])
def test_not_a_catalogue(tmp_path: Path, text: str, line: int) -> None:
    path = tmp_path / "weird.json"
    path.write_text(text, encoding="utf-8")
    problems = problems_of(path)
    assert len(problems) == 1 and problems[0][0] == line


def test_empty_procedure_list_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text('{"version": 1, "checked_on": "2026-01-02", "procedures": []}', encoding="utf-8")
    checked_on, records = load_catalogue(path)
    assert checked_on.isoformat() == "2026-01-02" and records == []


def test_header_string_mentioning_procedures_does_not_confuse_lines(tmp_path: Path) -> None:
    doc = {"_comment": 'format: {"procedures": [ ... ]}', **real_doc()}
    doc["procedures"][2]["level"] = "x"
    path = tmp_path / "commented.json"
    lines = record_lines(write_doc(path, doc))
    assert [p[0] for p in problems_of(path)] == [lines[2]]


def test_nested_procedures_key_before_the_list(tmp_path: Path) -> None:
    doc = {"previous_export": {"checked_on": "2025-01-01", "procedures": []}, **real_doc()}
    doc["procedures"][2]["level"] = "x"
    path = tmp_path / "commented.json"
    lines = record_lines(write_doc(path, doc))
    assert [p[0] for p in problems_of(path)] == [lines[2]]


# --- nothing is written on error --------------------------------------------------------------
