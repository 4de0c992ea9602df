"""The answer-texts pages and JSON API on a real console: roles, checks shown, preview, history."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from tests.support.console import login_client, running_console


@pytest.fixture(scope="module")
def texts_console(console_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_console(console_db, Path(tmp_path_factory.mktemp("texts-console"))) as url:
        yield url


def test_editor_edits_others_may_only_read(texts_console: str) -> None:
    editor = login_client(texts_console, "editor1")
    trainer = login_client(texts_console, "trainer1")
    body = {"text": "Chào bạn, tôi là trợ lý ảo.", "buttons": [{"title": "Trợ giúp", "payload": "/help"}]}
    assert trainer.put("/console/api/texts/utter_goodbye/0/default", json=body).status_code == 403
    page = trainer.post("/console/texts/utter_goodbye", data={"variation": "0", "channel": "default",
                                                              "text": "Tạm biệt", "csrf_token": trainer.headers["X-CSRF-Token"]})
    assert page.status_code == 403
    assert trainer.get("/console/texts/utter_goodbye").status_code == 200
    saved = editor.put("/console/api/texts/utter_goodbye/0/default", json=body)
    assert saved.status_code == 200, saved.text
    default = next(w for w in saved.json()[0]["wordings"] if w["channel"] == "default")
    assert default["text"] == body["text"] and default["overridden"] and default["updated_by"] == "editor1"
    history = editor.get("/console/api/texts/utter_goodbye/history").json()
    assert [(h["action"], h["actor"]) for h in history] == [("edit", "editor1")]
    reverted = editor.post("/console/api/texts/utter_goodbye/reset", json={"variation": 0, "channel": "default"})
    assert reverted.status_code == 200
    assert not next(w for w in reverted.json()[0]["wordings"] if w["channel"] == "default")["overridden"]
    audit = login_client(texts_console, "admin1").get("/console/api/audit", params={"entity": "response_text"}).json()
    assert [a["action"] for a in audit][:2] == ["texts.reset", "texts.edit"]


def test_refused_wording_comes_back_with_the_reason(texts_console: str) -> None:
    editor = login_client(texts_console, "editor1")
    bad = editor.put("/console/api/texts/utter_procedure_duration/0/default",
                     json={"text": "Thời hạn của {procedure_name}"})
    assert bad.status_code == 422
    assert any("Thiếu chỗ điền {durations}" in m for m in bad.json()["errors"]["text"])
    page = editor.post("/console/texts/utter_procedure_duration",
                       data={"variation": "0", "channel": "zalo", "text": "Thời hạn {procedure_name}: {duration}",
                             "csrf_token": editor.headers["X-CSRF-Token"]})
    assert page.status_code == 400
    assert "có phải là {durations}?" in page.text and 'aria-invalid="true"' in page.text
    assert "Thời hạn {procedure_name}: {duration}" in page.text  # the draft is kept in the field
    preview = editor.post("/console/api/texts/utter_greet/preview", json={
        "variation": 0, "channel": "zalo", "text": "Chào {ten}",
        "buttons": [{"title": f"Nút {i}", "payload": "/help"} for i in range(7)]})
    assert preview.status_code == 200
    data = preview.json()
    assert data["errors"]["text"] and "Zalo chỉ hiển thị tối đa 5 nút." in data["errors"]["buttons"]
    assert len(data["zalo"]["buttons"]) == 5 and len(data["telegram"]["buttons"]) == 7
    assert any("5 nút đầu" in n for n in data["zalo"]["notes"])
    filled = editor.post("/console/api/texts/utter_procedure_duration/preview",
                         json={"text": "{procedure_name}: {durations}"}).json()
    assert filled["errors"] == {} and filled["telegram"]["parts"] == ["Đăng ký khai sinh: • Trực tiếp: ngay trong ngày"]


@pytest.mark.parametrize(("method", "path", "body"), [
    ("get", "/console/api/texts/utter_no_such_thing", None),
    ("get", "/console/texts/utter_no_such_thing", None),
    ("get", "/console/texts/utter_greet?channel=viber", None),
    ("get", "/console/texts/utter_greet?variation=99", None),
    ("put", "/console/api/texts/utter_greet/0/viber", {"text": "x"}),
    ("put", "/console/api/texts/utter_greet/abc/default", {"text": "x"}),
    ("put", "/console/api/texts/utter_greet/0/default", {"text": 5, "buttons": "x"}),
    ("put", "/console/api/texts/utter_greet/0/default", {"text": "x" * 30000}),
    ("post", "/console/api/texts/utter_greet/revert", {"revision_id": 999999}),
    ("post", "/console/api/texts/bad name!/preview", {"text": "x"}),
])
def test_bad_requests_are_4xx(texts_console: str, method: str, path: str, body: object) -> None:
    editor = login_client(texts_console, "editor1")
    response = editor.request(method.upper(), path, json=body)
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:200])


def test_search_page(texts_console: str) -> None:
    editor = login_client(texts_console, "editor1")
    page = editor.get("/console/texts", params={"q": "khi can ban cu nhan cho toi"})
    assert page.status_code == 200 and "utter_goodbye" in page.text and "utter_greet" not in page.text
    rows = editor.get("/console/api/texts", params={"q": "KHI CẦN BẠN CỨ NHẮN CHO TÔI"}).json()
    assert [r["name"] for r in rows] == ["utter_goodbye"]


def test_api_is_in_the_openapi_document(texts_console: str) -> None:
    paths = login_client(texts_console, "editor1").get("/console/api/openapi.json").json()["paths"]
    for path in ("/console/api/texts", "/console/api/texts/{name}", "/console/api/texts/{name}/preview",
                 "/console/api/texts/{name}/{variation}/{channel}", "/console/api/texts/{name}/history"):
        assert path in paths, path
    assert not any(path.startswith("/console/texts") for path in paths)  # HTML pages stay out
