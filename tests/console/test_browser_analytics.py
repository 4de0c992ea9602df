"""In Chromium: an analyst reads the analytics charts, switches day/week, downloads a CSV, reviews conversations."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from bot.db.models import Feedback, HandoffRequest
from bot.db.session import get_engine, session_scope, upgrade
from tests.support import analytics as data
from tests.support.console import browser_login, make_staff, running_console, screenshot

INTENTS = ["ask_procedure", "ask_documents", "ask_fee", "ask_place", "check_status", "ask_duration", "greet"]
QUESTIONS = {"ask_procedure": "làm giấy khai sinh thế nào", "ask_documents": "cần giấy tờ gì để làm sổ đỏ",
             "ask_fee": "lệ phí cấp hộ chiếu bao nhiêu", "ask_place": "nộp hồ sơ ở đâu",
             "check_status": f"hồ sơ {data.CODE} đến đâu rồi", "ask_duration": "bao lâu thì có kết quả",
             "greet": "xin chào"}


def _more_conversations() -> List[Dict[str, Any]]:
    """Sixty more Rasa-shaped conversations over 4–17 March 2024 on Zalo, Telegram and the REST channel."""
    rows: List[Dict[str, Any]] = []
    for i in range(60):
        sender = ("zalo:7", "telegram:8", "rest:web")[i % 3] + f"{i:03d}"
        day, hour = 4 + (i * 5) % 14, 7 + i % 10
        start = data.at(day, hour, i % 60)
        rows += data._start(sender, start)
        first = INTENTS[i % len(INTENTS)]
        rows += data._turn(sender, start + 1, QUESTIONS[first], first, "action_answer", "Câu trả lời ...")
        if i % 4 == 0:
            rows += data._turn(sender, start + 60, f"cho tôi hỏi cái này với gọi 09{i:08d}", "nlu_fallback",
                               "utter_default", "Xin lỗi, tôi chưa hiểu.")
    return rows


@pytest.fixture(scope="module")
def analytics_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A console on a database with the hand-made set plus sixty conversations, ratings and handoffs, rolled up."""
    url = f"sqlite:///{tmp_path_factory.mktemp('browser-analytics') / 'console.db'}"
    upgrade(url)
    make_staff(url)
    data.create_events(url)
    data.insert_events(url, data.conversation_rows() + _more_conversations())
    data.add_side_tables(url)
    with session_scope(url) as s:
        for i in range(0, 60, 2):
            day = 4 + (i * 5) % 14
            s.add(Feedback(sender_key=("zalo:7", "telegram:8", "rest:web")[i % 3] + f"{i:03d}",
                           rating=5 if i % 6 else 3, created_at=data.utc(day, 12)))
        for i in range(1, 60, 9):
            day = 4 + (i * 5) % 14
            s.add(HandoffRequest(sender_key=f"x:{i}", reason="x", transcript=[], created_at=data.utc(day, 9),
                                 taken_at=data.utc(day, 9, 4 + i % 20), status="closed"))
    from bot.analytics import run_rollup

    run_rollup(get_engine(url), zone=data.ZONE)
    with running_console(url, Path(tmp_path_factory.mktemp("browser-analytics-run"))) as base:
        yield base
    get_engine(url).dispose()


def test_analyst_reads_charts_downloads_csv_and_flags_a_conversation(page, analytics_console: str) -> None:
    base = analytics_console
    browser_login(page, base, "analyst1")
    page.get_by_role("navigation", name="Chức năng").get_by_role("link", name="Thống kê").click()
    page.get_by_label("Từ ngày").fill("2024-03-04")
    page.get_by_label("Đến ngày").fill("2024-03-17")
    page.get_by_role("button", name="Xem").click()
    page.wait_for_url("**granularity=day**")
    charts = page.locator("svg.chart")
    assert charts.count() >= 10
    bars = page.locator("#chart-conversations rect.bar")
    assert bars.count() >= 14 and sum(float(v) for v in bars.evaluate_all(
        "els => els.map(e => e.getAttribute('data-value'))")) == 64
    assert page.locator("#chart-satisfaction line.target").get_attribute("data-value") == "0.99"
    assert page.locator("#chart-satisfaction circle.point").count() > 0
    assert page.locator("#chart-intents rect.bar").count() >= 5
    assert page.locator("#chart-satisfaction text.target-label").text_content() == "Mục tiêu 99 %"
    page.locator("#panel-conversations summary").click()
    assert page.locator("#panel-conversations table").is_visible()
    assert page.locator("#panel-conversations tbody tr").count() == 14
    screenshot(page, "40-analytics")

    page.get_by_role("link", name="Chuyển sang xem theo tuần").click()
    page.wait_for_url("**granularity=week**")
    labels = page.locator("#chart-conversations text.xlabel").evaluate_all("els => els.map(e => e.textContent)")
    assert labels == ["T10/24", "T11/24"]
    with page.expect_download() as info:
        page.get_by_role("link", name="Tải CSV: Hội thoại theo kênh").click()
    download = info.value
    assert download.suggested_filename == "thong-ke-traffic-2024-03-04-2024-03-17-week.csv"
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    lines = text.splitlines()
    assert lines[0].startswith("bucket,conversations,") and lines[1].startswith("2024-W10,")
    assert len(lines) == 3

    page.get_by_role("navigation", name="Chức năng").get_by_role("link", name="Hội thoại").click()
    page.get_by_label("Trợ lý không hiểu").select_option("1")
    page.get_by_role("button", name="Lọc").click()
    page.wait_for_url("**fallback=1**")
    rows = page.locator("table.conversations tbody tr")
    assert rows.count() == 17  # 15 of the sixty + zalo:222 + the group conversation
    screenshot(page, "41-conversations")

    page.get_by_role("link", name="telegram:group:-100:333").click()
    transcript = page.locator("ol.transcript")
    text = transcript.inner_text()
    assert data.PHONE_C not in text and "098•••••••" in text and data.CODE not in text
    assert page.locator("ol.transcript li.fell-back").count() == 1
    page.get_by_label("Lý do").fill("Trợ lý không hiểu câu hỏi không dấu")
    page.get_by_role("button", name="Đánh dấu cần xem lại").click()
    assert page.get_by_role("status").inner_text() == "Đã đánh dấu cần xem lại."
    assert "Trợ lý không hiểu câu hỏi không dấu" in page.locator("#flag-state").inner_text()
    page.get_by_label("Nhãn mới").fill("Không dấu")
    page.get_by_role("button", name="Gắn nhãn").click()
    assert page.locator(".summary .badge", has_text="không dấu").is_visible()
    screenshot(page, "42-transcript")
