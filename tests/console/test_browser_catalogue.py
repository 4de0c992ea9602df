"""In Chromium: an editor finds a procedure without diacritics, changes its fee with a source and a
check date, sees the change in the history, and the real assistant quotes the new fee at once;
Excel export → edit → import, and a malformed sheet that changes nothing."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from openpyxl import load_workbook

from bot.cli.db import db_init
from bot.db.session import get_engine
from tests.support.assistant import running_assistant
from tests.support.console import browser_login, make_staff, running_console, screenshot

BIRTH = "1.001193"
NEW_FEE = "Miễn lệ phí đăng ký đúng hạn; bản sao Giấy khai sinh 12.500 đồng/bản (Nghị quyết HĐND tỉnh 2026)"
TODAY = dt.date.today().isoformat()


@pytest.fixture(scope="module")
def console_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One SQLite database for the console and the assistant: the curated catalogue and the staff accounts."""
    url = f"sqlite:///{tmp_path_factory.mktemp('catalogue-browser') / 'assistant.db'}"
    db_init(url, demo=False, national=False)
    make_staff(url)
    yield url
    get_engine(url).dispose()


@pytest.fixture(scope="module")
def console_url(console_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The console on ``console_db`` (NLU lookups written to a scratch file, not the repository's)."""
    scratch = tmp_path_factory.mktemp("catalogue-browser-run")
    with running_console(console_db, scratch, {"CATALOGUE_LOOKUPS_FILE": str(scratch / "lookups.yml")}) as url:
        yield url


def ask_fee(url: str) -> str:
    """The assistant's answer (all texts) to a fee question about birth registration, over REST."""
    replies = httpx.post(f"{url}/webhooks/rest/webhook", timeout=120,
                         json={"sender": f"kiem-thu-{uuid.uuid4().hex[:8]}",
                               "message": "lệ phí đăng ký khai sinh bao nhiêu"})
    replies.raise_for_status()
    return "\n".join(r.get("text", "") for r in replies.json())


def test_an_edit_reaches_the_assistants_very_next_answer(page, console_url: str, console_db: str,
                                                          tmp_path: Path):
    with running_assistant(console_db, tmp_path) as assistant:
        before = ask_fee(assistant)
        assert "Đăng ký khai sinh" in before and "12.500 đồng" not in before  # the search index is built now

        browser_login(page, console_url, "editor1")
        page.get_by_role("navigation", name="Chức năng").get_by_role("link", name="Thủ tục").click()
        page.get_by_label("Tìm (có hoặc không dấu)").fill("dang ky khai sinh")
        page.get_by_role("button", name="Tìm").click()
        first = page.locator("table tbody tr").first
        assert first.get_by_role("link").inner_text() == "Đăng ký khai sinh"
        screenshot(page, "10-catalogue-search")

        first.get_by_role("link", name="Đăng ký khai sinh", exact=True).click()
        page.wait_for_url(f"**/console/catalogue/{BIRTH}")
        fee = page.get_by_label("Lệ phí (trực tiếp)", exact=True)
        old_fee = fee.input_value()
        fee.fill(NEW_FEE)
        page.get_by_label("Nguồn đã đối chiếu").fill("Nghị quyết HĐND tỉnh về phí, lệ phí năm 2026")
        page.get_by_label("Ngày kiểm tra").fill(TODAY)
        page.get_by_label("Ghi chú thay đổi").fill("Cập nhật phí bản sao")
        fee.scroll_into_view_if_needed()
        screenshot(page, "11-catalogue-edit")
        page.get_by_role("button", name="Lưu thay đổi").click()
        assert "Đã lưu phiên bản 2" in page.get_by_role("status").first.inner_text()
        assert page.get_by_label("Lệ phí (trực tiếp)", exact=True).input_value() == NEW_FEE

        page.get_by_role("link", name="Lịch sử thay đổi").click()
        latest = page.get_by_role("region", name="Phiên bản 2")
        row = latest.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Lệ phí (trực tiếp)",
                                                                     exact=True))
        cells = row.get_by_role("cell")
        assert cells.nth(0).inner_text() == old_fee and cells.nth(1).inner_text() == NEW_FEE
        assert "editor1" in latest.inner_text() and "Cập nhật phí bản sao" in latest.inner_text()
        assert page.get_by_role("region", name="Phiên bản 1").get_by_role("button", name="Quay lại phiên bản này")
        screenshot(page, "12-catalogue-history")

        after = ask_fee(assistant)  # no restart, no retraining: the very next answer
        assert "12.500 đồng/bản" in after and NEW_FEE[:60] in after, after


def _import(page, console_url: str, path: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{console_url}/console/catalogue/import")
    page.get_by_label("Tệp").set_input_files(str(path))
    page.get_by_label("Ngày kiểm tra").fill(TODAY)
    page.get_by_role("button", name="Nhập").click()


def test_the_form_gives_back_exactly_the_stored_record(page, console_url: str):
    browser_login(page, console_url, "editor1")
    for code in ("1.000894", "2.000528", "1.004884"):  # many documents, channels, unconfirmed figures
        stored = page.request.get(f"{console_url}/console/api/catalogue/{code}").json()["record"]
        page.goto(f"{console_url}/console/catalogue/{code}")
        page.get_by_label("Nguồn đã đối chiếu").fill(stored["source"])
        page.get_by_label("Ngày kiểm tra").fill(stored["checked_on"])
        page.get_by_role("button", name="Lưu thay đổi").click()
        assert page.get_by_role("status").first.inner_text() == "Không có gì thay đổi nên chưa lưu.", code


def test_excel_export_edit_and_import_in_the_browser(page, console_url: str, tmp_path: Path):
    browser_login(page, console_url, "editor1")
    page.goto(f"{console_url}/console/catalogue?q=ket+hon")
    with page.expect_download() as download:
        page.get_by_role("link", name="Xuất Excel").click()
    exported = tmp_path / "thu-tuc.xlsx"
    download.value.save_as(exported)
    book = load_workbook(exported)
    main = book["Thủ tục"]
    row = next(r for r in main.iter_rows(min_row=2) if r[1].value == "Đăng ký kết hôn")
    code = row[0].value
    header = [c.value for c in main[1]]
    row[header.index("Ghi chú")].value = "Hai bên nam nữ cùng có mặt khi nhận Giấy chứng nhận kết hôn."
    edited = tmp_path / "da-sua.xlsx"
    book.save(edited)

    _import(page, console_url, edited)
    assert "1 thủ tục thay đổi" in page.get_by_role("status").first.inner_text()
    page.get_by_role("link", name=code).click()
    assert "Phiên bản" in page.content() and "Nhập từ tệp" in page.get_by_role("region").first.inner_text()
    page.goto(f"{console_url}/console/catalogue/{code}")
    assert page.locator("textarea[name=notes]").input_value() == \
        "Hai bên nam nữ cùng có mặt khi nhận Giấy chứng nhận kết hôn."

    broken = load_workbook(edited)
    broken["Thủ tục"]["B2"].value = None  # no name
    broken["Thủ tục"].cell(row=3, column=header.index("Ghi chú") + 1).value = "Thay đổi không được nhập."
    channels = broken["Cách nộp"]
    channels.cell(row=3, column=4).value = "ba ngày"  # "Số ngày" must be a number
    bad = tmp_path / "hong.xlsx"
    broken.save(bad)
    third_code = broken["Thủ tục"]["A3"].value
    _import(page, console_url, bad)
    assert "Không nhập gì cả" in page.get_by_role("alert").inner_text()
    problems = page.locator("table.problems tbody tr")
    texts = [problems.nth(i).inner_text() for i in range(problems.count())]
    assert any(t.startswith("Thủ tục, hàng 2") and "thiếu «Tên thủ tục»" in t for t in texts), texts
    assert any(t.startswith("Cách nộp, hàng 3") and "«Số ngày» phải là số nguyên" in t for t in texts), texts
    page.goto(f"{console_url}/console/catalogue/{third_code}")
    assert page.locator("textarea[name=notes]").input_value() != "Thay đổi không được nhập."
