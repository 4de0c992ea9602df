"""In Chromium, against the real assistant: an editor rewords the greeting, and the very next
"xin chào" over REST gets the new wording (no retraining, no restart); a removed placeholder is
refused with the reason next to the field; going back to the domain's text brings the old one back.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Dict, Iterator

import httpx
import pytest
import yaml

from bot.cli.db import db_init
from bot.db.session import get_engine
from bot.texts.domain import domain_texts
from tests.support.assistant import running_assistant
from tests.support.console import SCREENSHOTS, browser_login, make_staff, running_console, screenshot

pytestmark = pytest.mark.slow
TOKEN = "browser-texts-nlg-token-0123456789"  # noqa: S105 - a scratch console's token
NEW_GREETING = "Chào bạn! Tôi là trợ lý của Trung tâm Phục vụ hành chính công tỉnh Lào Cai. Hôm nay tôi giúp gì được bạn?"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, str]]:
    """The console and the real assistant on one SQLite database; Rasa's NLG asks the console."""
    workdir = Path(tmp_path_factory.mktemp("texts-stack"))
    url = f"sqlite:///{workdir / 'assistant.db'}"
    db_init(url, demo=False, national=False)
    make_staff(url)
    with running_console(url, workdir, {"CONSOLE_NLG_TOKEN": TOKEN}) as console:
        env = {"CONSOLE_NLG_URL": f"{console}/console/nlg", "CONSOLE_NLG_TOKEN": TOKEN}
        with running_assistant(url, workdir, extra_env=env) as assistant:
            yield {"console": console, "assistant": assistant, "workdir": str(workdir)}
    get_engine(url).dispose()


def say(assistant: str, text: str) -> list:
    """One REST message from a fresh conversation; the assistant's replies."""
    response = httpx.post(f"{assistant}/webhooks/rest/webhook", timeout=120,
                          json={"sender": f"texts-{uuid.uuid4().hex[:8]}", "message": text})
    assert response.status_code == 200, response.text
    return response.json()


def test_reworded_greeting_reaches_the_next_message_and_reverts(page, stack: Dict[str, str]) -> None:
    endpoints = yaml.safe_load((Path(stack["workdir"]) / "endpoints.yml").read_text())
    assert endpoints["nlg"]["type"] == "integrations.nlg.ConsoleNLG"
    original = domain_texts().responses["utter_greet"][0]["text"]
    before = say(stack["assistant"], "xin chào")
    assert before[0]["text"] == original

    console = stack["console"]
    browser_login(page, console, "editor1")
    page.get_by_role("navigation", name="Chức năng").get_by_role("link", name="Câu trả lời").click()
    page.get_by_label("Tìm theo tên hoặc nội dung").fill("tro ly ao")
    page.get_by_role("button", name="Tìm").click()
    page.get_by_role("link", name="utter_greet", exact=True).click()
    page.wait_for_url(f"{console}/console/texts/utter_greet")
    page.get_by_label("Nội dung (Mặc định (mọi kênh))").fill(NEW_GREETING)
    telegram = page.locator("#preview-telegram .bubble")
    zalo = page.locator("#preview-zalo .bubble")
    telegram.filter(has_text="tỉnh Lào Cai").wait_for()
    assert zalo.first.inner_text() == NEW_GREETING
    assert page.locator("#preview-zalo .chat-button").all_inner_texts() == [
        "Hướng dẫn thủ tục", "Tra cứu hồ sơ", "Liên hệ"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("section[aria-labelledby=preview-title]").screenshot(path=str(SCREENSHOTS / "21-texts-preview.png"))
    page.get_by_role("button", name="Lưu", exact=True).click()
    assert page.get_by_role("status").inner_text().startswith("Đã lưu")
    screenshot(page, "20-texts-edit")

    after = say(stack["assistant"], "xin chào")  # the very next message, same Rasa process
    assert after[0]["text"] == NEW_GREETING
    assert [b["payload"] for b in after[0]["buttons"]] == ["/help", "/check_status", "/ask_contact"]

    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Dùng lại câu gốc").click()
    assert page.get_by_role("status").is_visible()
    assert page.get_by_label("Nội dung (Mặc định (mọi kênh))").input_value() == original
    assert page.get_by_role("cell", name="Về câu gốc", exact=True).is_visible()  # in the history
    assert say(stack["assistant"], "xin chào")[0]["text"] == original


def test_removed_placeholder_is_refused_with_the_reason(page, stack: Dict[str, str]) -> None:
    console = stack["console"]
    browser_login(page, console, "editor1")
    page.goto(f"{console}/console/texts/utter_procedure_duration")
    field = page.get_by_label("Nội dung (Mặc định (mọi kênh))")
    field.fill("⏱ Thời hạn giải quyết — {procedure_name}: xem tại bộ phận một cửa.")
    errors = page.locator("#text-errors")
    errors.filter(has_text="Thiếu chỗ điền {durations}").wait_for()  # shown while typing
    page.get_by_role("button", name="Lưu", exact=True).click()
    assert "Thiếu chỗ điền {durations}" in page.locator("#text-errors").inner_text()  # and by the server
    assert field.get_attribute("aria-invalid") == "true"
    assert page.get_by_role("cell", name="Chưa có thay đổi nào", exact=False).is_visible()
