"""The catalogue pages and API over HTTP (a real console server): roles, validation, bad input."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from openpyxl import load_workbook

from bot.cli.db import db_init
from bot.db.session import get_engine
from tests.support.console import login_client, make_staff, running_console

BIRTH = "1.001193"


@pytest.fixture(scope="module")
def console_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The console's database with the curated catalogue and one account per role."""
    url = f"sqlite:///{tmp_path_factory.mktemp('catalogue') / 'console.db'}"
    db_init(url, demo=False, national=False)
    make_staff(url)
    yield url
    get_engine(url).dispose()


@pytest.fixture(scope="module")
def lookups(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the console writes the NLU synonyms (not the repository's file)."""
    return tmp_path_factory.mktemp("catalogue-lookups") / "catalogue.yml"


@pytest.fixture(scope="module")
def console_url(console_db: str, lookups: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The console on ``console_db``, writing NLU lookups to a scratch file."""
    scratch = tmp_path_factory.mktemp("catalogue-run")
    with running_console(console_db, scratch, {"CATALOGUE_LOOKUPS_FILE": str(lookups)}) as url:
        yield url


@pytest.fixture(scope="module")
def analyst(console_url: str) -> Iterator[httpx.Client]:
    client = login_client(console_url, "analyst1")
    yield client
    client.close()


@pytest.fixture(scope="module")
def editor(console_url: str) -> Iterator[httpx.Client]:
    client = login_client(console_url, "editor1")
    yield client
    client.close()


def test_analyst_reads_but_cannot_save_revert_or_import(analyst: httpx.Client):
    page = analyst.get("/console/catalogue", params={"q": "dang ky khai sinh"})
    assert page.status_code == 200 and "Đăng ký khai sinh" in page.text and "Nhập từ tệp" not in page.text
    record = analyst.get(f"/console/catalogue/{BIRTH}")
    assert record.status_code == 200 and "Lưu thay đổi" not in record.text and "disabled" in record.text
    assert analyst.get(f"/console/catalogue/{BIRTH}/history").status_code == 200
    assert analyst.get("/console/catalogue/export.xlsx", params={"q": "khai sinh"}).status_code == 200
    body = analyst.get(f"/console/api/catalogue/{BIRTH}").json()
    form = {"name": "Đổi tên", "source": "x", "checked_on": dt.date.today().isoformat()}
    assert analyst.post(f"/console/catalogue/{BIRTH}", data=form).status_code == 403
    put = analyst.put(f"/console/api/catalogue/{BIRTH}", json={"record": body["record"], "source": "x",
                                                                "checked_on": dt.date.today().isoformat()})
    assert put.status_code == 403
    assert analyst.post(f"/console/catalogue/{BIRTH}/revert/1").status_code == 403
    assert analyst.get("/console/catalogue/import").status_code == 403
    files = {"file": ("a.json", b'{"procedures": []}', "application/json")}
    assert analyst.post("/console/catalogue/import", files=files, data={"checked_on": "2026-01-01"}).status_code == 403


def test_agent_cannot_even_read(console_url: str):
    agent = login_client(console_url, "agent1")
    assert agent.get("/console/catalogue").status_code == 403
    assert agent.get(f"/console/api/catalogue/{BIRTH}").status_code == 403
    agent.close()


def test_without_csrf_token_nothing_is_saved(console_url: str, editor: httpx.Client):
    with httpx.Client(base_url=console_url, cookies=editor.cookies, timeout=30) as bare:
        response = bare.post(f"/console/catalogue/{BIRTH}", data={"name": "x"})
        assert response.status_code == 403 and "CSRF" in response.text


def test_api_save_validates_like_the_importer(editor: httpx.Client):
    body = editor.get(f"/console/api/catalogue/{BIRTH}").json()
    record = dict(body["record"], level="huyen")
    today = dt.date.today().isoformat()
    bad = editor.put(f"/console/api/catalogue/{BIRTH}", json={"record": record, "source": "x", "checked_on": today})
    assert bad.status_code == 422 and any("cấp thực hiện" in p for p in bad.json()["problems"])
    for wrong in ({"notes": {"a": 1}}, {"steps": "một bước"}, {"unconfirmed": [1]}, {"channels": "x"},
                  {"documents": [{"name": "Tờ khai", "kind": "submit", "original": "hai"}]}):
        response = editor.put(f"/console/api/catalogue/{BIRTH}",
                              json={"record": dict(body["record"], **wrong), "source": "x", "checked_on": today})
        assert response.status_code == 422 and response.json()["problems"], wrong
    no_source = editor.put(f"/console/api/catalogue/{BIRTH}",
                           json={"record": body["record"], "source": " ", "checked_on": today})
    assert no_source.status_code == 422 and "nguồn" in no_source.json()["problems"][0]
    record = dict(body["record"], notes="Ghi chú mới của cán bộ.")
    ok = editor.put(f"/console/api/catalogue/{BIRTH}", json={"record": record, "source": "QĐ 1", "checked_on": today})
    assert ok.status_code == 200 and ok.json()["fields"] == ["notes", "source", "checked_on"]
    history = editor.get(f"/console/api/catalogue/{BIRTH}/history").json()
    assert history[0]["number"] == ok.json()["revision"] and history[-1]["action"] == "baseline"
    assert {"label": "Ghi chú", "before": body["record"]["notes"], "after": "Ghi chú mới của cán bộ."} \
        in history[0]["diff"]
    listing = editor.get("/console/api/catalogue", params={"q": "dang ky khai sinh", "per_page": 5}).json()
    assert listing["items"][0]["code"] == BIRTH and len(listing["items"]) == 5


def test_the_form_shows_problems_and_keeps_what_was_typed(editor: httpx.Client):
    page = editor.get(f"/console/catalogue/{BIRTH}").text
    assert 'aria-label="Lệ phí (trực tiếp)"' in page
    form = {"name": "Đăng ký khai sinh", "field": "Hộ tịch", "level": "commune", "agency": "UBND xã",
            "online_level": "full", "online_url": "", "ch_kind": ["direct", ""], "ch_duration": ["1 ngày", ""],
            "ch_fee": ["Miễn phí", ""], "ch_duration_days": ["một", ""], "ch_fee_vnd": ["", ""],
            "legal_basis": "Luật Hộ tịch", "source": "", "checked_on": ""}
    response = editor.post(f"/console/catalogue/{BIRTH}", data=form)
    assert response.status_code == 400 and "Số ngày ở dòng 1 phải là số nguyên không âm." in response.text
    form["ch_duration_days"] = ["1", ""]
    response = editor.post(f"/console/catalogue/{BIRTH}", data=form)
    assert response.status_code == 400
    assert "Cần ghi nguồn" in response.text and "Cần ghi ngày kiểm tra." in response.text
    form.update(source="QĐ 2", checked_on=dt.date.today().isoformat())
    response = editor.post(f"/console/catalogue/{BIRTH}", data=form)
    assert response.status_code == 400 and "thủ tục trực tuyến cần có địa chỉ trực tuyến" in response.text
    assert 'value="QĐ 2"' in response.text  # what was typed stays in the form


@pytest.mark.parametrize("path, status", [
    ("/console/catalogue/9.999999", 404), ("/console/catalogue/x;drop", 422),
    ("/console/catalogue/9.999999/history", 404), ("/console/api/catalogue/9.999999", 404),
    ("/console/catalogue?level=huyen", 422), ("/console/catalogue?page=-1", 422),
    ("/console/catalogue?q=" + "a" * 500, 422), ("/console/catalogue?field=abc", 422),
])
def test_bad_input_is_a_clear_4xx(editor: httpx.Client, path: str, status: int):
    assert editor.get(path).status_code == status


def test_bad_uploads_are_refused_with_their_reason(editor: httpx.Client):
    today = dt.date.today().isoformat()
    response = editor.post("/console/catalogue/import", files={"file": ("x.xlsx", b"PK\x03\x04rubbish")},
                           data={"checked_on": today})
    assert response.status_code == 400 and "không đọc được tệp Excel" in response.text
    response = editor.post("/console/catalogue/import", files={"file": ("x.json", "{\n  \"procedures\": [1,]}")},
                           data={"checked_on": today})
    assert response.status_code == 400 and "x.json:2" in response.text
    response = editor.post("/console/catalogue/import", files={"file": ("x.json", b"\xff\xfe")},
                           data={"checked_on": today})
    assert response.status_code == 400 and "UTF-8" in response.text
    response = editor.post("/console/catalogue/import", files={"file": ("x.json", b"{}")}, data={"checked_on": ""})
    assert response.status_code == 400 and "ngày kiểm tra" in response.text


def test_excel_export_has_the_filtered_procedures(editor: httpx.Client):
    response = editor.get("/console/catalogue/export.xlsx", params={"q": "ket hon"})
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    codes = [row[0] for row in book["Thủ tục"].iter_rows(min_row=2, values_only=True)]
    listed = editor.get("/console/api/catalogue", params={"q": "ket hon", "per_page": 200}).json()
    assert codes == [item["code"] for item in listed["items"]] and 3 <= len(codes) < 58
    assert book["Thủ tục"]["B2"].value == "Đăng ký kết hôn"  # the whole phrase first
    data = editor.get("/console/catalogue/export.json", params={"level": "province"}).json()
    assert data["procedures"] and all(p["level"] == "province" for p in data["procedures"])


def test_a_new_alias_rewrites_the_synonyms_and_shows_the_retraining_flag(editor: httpx.Client, lookups: Path):
    assert "Cần huấn luyện lại mô hình NLU" not in editor.get("/console/catalogue").text
    record = editor.get("/console/api/catalogue/1.000894").json()["record"]
    record["aliases"] = record["aliases"] + ["cưới xin ra xã"]
    saved = editor.put("/console/api/catalogue/1.000894", json={
        "record": record, "source": "Cán bộ tư pháp", "checked_on": dt.date.today().isoformat()})
    assert saved.status_code == 200 and saved.json()["fields"][0] == "aliases"
    assert "      - cưới xin ra xã" in lookups.read_text(encoding="utf-8")
    for path in ("/console/catalogue", "/console/catalogue/1.000894", "/console/catalogue/import"):
        page = editor.get(path).text
        assert "Cần huấn luyện lại mô hình NLU" in page and "1.000894" in page and "editor1" in page
