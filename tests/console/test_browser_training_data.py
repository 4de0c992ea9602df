"""The NLU inbox and the training data in real Chromium: three poorly understood messages, typed the way
people in the mountain districts write on a phone, are collected from Rasa-shaped tracker events, labelled
by a trainer (one entity marked by selecting text with the mouse), found among their intents' examples,
exported, imported into a fresh database and exported again byte for byte, and the export passes
``rasa data validate --fail-on-warnings``."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bot.db.session import get_engine, session_scope, upgrade
from bot.settings import ROOT
from bot.training.export import content_hash, export_nlu
from bot.training.importer import import_nlu
from tests.support.console import browser_login, screenshot
from tests.support.training_data import create_events, insert_events, turn
from workers.training_inbox import collect_once

REAL_CODE = "000.00.15.H65-240312-0001"
FEE = "lam so do het bn tien vay ad, nha e o Bat Xat"
STATUS = f"hs {REAL_CODE} nop tu thang truoc j van chua co kq la sao"
ONLINE = "nha e o ban xa ko co mang thi nop ho so qua dien thoai dc ko"
SYNTHETIC = re.compile(r"000\.00\.15\.H65-\d{6}-\d{4}")


def _seed(url: str) -> None:
    """A fallback, a low-confidence guess and a message before a handoff, as Rasa's tracker store has them."""
    t0 = time.time() - 3 * 3600
    create_events(url)
    insert_events(url, [
        *turn("telegram:501", t0, FEE, "nlu_fallback", "utter_default", 0.31,
              [("nlu_fallback", 0.4), ("ask_place", 0.31), ("ask_fee", 0.22)]),
        *turn("zalo:502", t0 + 600, STATUS, "check_status", "action_check_status", 0.41,
              [("check_status", 0.41), ("ask_duration", 0.33)]),
        *turn("telegram:503", t0 + 1200, ONLINE, "ask_place", "action_answer", 0.72,
              [("ask_place", 0.72), ("ask_online", 0.2)]),
        *turn("telegram:503", t0 + 1260, "cho e gap can bo", "request_human", "action_request_human", 0.95),
    ])


def _select_text(page, item, needle: str) -> None:  # type: ignore[no-untyped-def]
    """Select ``needle`` inside the item's message by dragging the mouse over it, as a person would."""
    sample = item.locator(".sample")
    sample.scroll_into_view_if_needed()
    box = sample.evaluate("""(el, needle) => {
        const node = el.firstChild, at = node.textContent.indexOf(needle);
        const range = document.createRange();
        range.setStart(node, at); range.setEnd(node, at + needle.length);
        const rects = range.getClientRects(), a = rects[0], b = rects[rects.length - 1];
        return {x1: a.left + 1, y1: a.top + a.height / 2, x2: b.right - 1, y2: b.top + b.height / 2};
    }""", needle)
    page.mouse.move(box["x1"], box["y1"])
    page.mouse.down()
    page.mouse.move(box["x2"], box["y2"], steps=8)
    page.mouse.up()
    assert page.evaluate("window.getSelection().toString()") == needle, (box, sample.bounding_box())


def _label(page, item, intent: str) -> None:  # type: ignore[no-untyped-def]
    item.locator(".intent-choice").select_option(intent)
    with page.expect_navigation():  # the page reloads after the message
        item.get_by_role("button", name="Gắn nhãn").click()
        status = page.locator("#training-status")
        status.wait_for()
        assert status.inner_text().startswith(f"Đã thêm ví dụ cho ý định {intent}."), status.inner_text()


def test_trainer_labels_inbox_messages_and_the_export_validates(console_db: str, console_url: str, page,
                                                                tmp_path: Path):  # type: ignore[no-untyped-def]
    with session_scope(console_db) as s:
        import_nlu(s, ROOT / "nlu_data" / "nlu", "dev")
    _seed(console_db)
    assert collect_once(console_db)["added"] == 3  # the scheduled job (workers.training_inbox)
    assert collect_once(console_db)["added"] == 0  # idempotent

    browser_login(page, console_url, "trainer1")
    page.get_by_role("navigation", name="Chức năng").get_by_role("link", name="Huấn luyện").click()
    page.wait_for_url("**/console/training/inbox")
    with page.expect_navigation():  # the page reloads after the message
        page.get_by_role("button", name="Cập nhật hộp thư").click()
        page.get_by_text("Đã cập nhật: thêm 0 tin nhắn.").wait_for()
    items = page.locator(".inbox-item")
    items.first.wait_for()
    assert items.count() == 3
    content = page.content()
    assert REAL_CODE not in content and "3 nhóm tin nhắn." in content

    fee = items.filter(has_text="Bat Xat")
    assert "Không hiểu" in fee.inner_text() and "ask_place 31%" in fee.inner_text()
    _select_text(page, fee, "lam so do")
    fee.locator(".entity-choice").select_option("procedure")
    fee.get_by_role("button", name="Đánh dấu đoạn đã chọn").click()
    assert fee.locator("ul.spans li").inner_text().startswith("«lam so do» → procedure")

    status = items.filter(has_text="nop tu thang truoc")
    masked = status.locator(".sample").inner_text()
    assert SYNTHETIC.search(masked) and REAL_CODE not in masked
    assert re.match(r"«000\.00\.15\.H65-\d{6}-\d{4}» → dossier_code", status.locator("ul.spans li").inner_text())
    online = items.filter(has_text="qua dien thoai")
    assert "Dẫn tới gặp cán bộ" in online.inner_text()
    screenshot(page, "50-nlu-inbox")

    _label(page, fee, "ask_fee")
    _label(page, items.filter(has_text="nop tu thang truoc"), "check_status")
    _label(page, items.filter(has_text="qua dien thoai"), "ask_online")
    page.get_by_text("Không có tin nhắn nào.").wait_for()
    page.locator("select[name=status]").select_option("labelled")
    page.get_by_role("button", name="Xem").click()
    page.get_by_text("3 nhóm tin nhắn.").wait_for()

    expected = {
        "ask_fee": ("bn tien vay", "[lam so do](procedure) het bn tien vay ad, nha e o Bat Xat"),
        "check_status": ("thang truoc j van", "](dossier_code) nop tu thang truoc j van chua co kq la sao"),
        "ask_online": ("qua dien thoai dc", ONLINE),
    }
    for intent, (query, text) in expected.items():
        page.goto(f"{console_url}/console/training/examples?intent={intent}&q={query}")
        row = page.locator("table.examples tbody tr").filter(has_text=text)
        assert row.count() == 1, intent
        assert "Hộp thư NLU · trainer1" in row.inner_text()
    page.goto(f"{console_url}/console/training/examples?intent=check_status&q=thang truoc j van")
    assert re.search(r"hs \[000\.00\.15\.H65-\d{6}-\d{4}\]\(dossier_code\) nop", page.content())
    assert REAL_CODE not in page.content()
    page.goto(f"{console_url}/console/training/examples?intent=ask_fee&q=lam so do")
    page.locator("table.examples tbody tr").filter(has_text="Bat Xat").wait_for()
    screenshot(page, "51-training-examples")

    # export (through the trainer's session) -> import into a fresh database -> export: the same bytes
    exported = page.request.get(f"{console_url}/console/api/training/export")
    assert exported.ok
    body = exported.json()
    first = tmp_path / "first"
    first.mkdir()
    for name, text in body["files"].items():
        (first / name).write_bytes(text.encode("utf-8"))
    assert "- [lam so do](procedure) het bn tien vay ad, nha e o Bat Xat\n" in body["files"]["procedures.yml"]
    assert REAL_CODE not in "".join(body["files"].values())
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    upgrade(fresh)
    try:
        with session_scope(fresh) as s:
            import_nlu(s, first, "dev")
        with session_scope(fresh) as s:
            second_hash = export_nlu(s, tmp_path / "second")
    finally:
        get_engine(fresh).dispose()
    assert second_hash == body["hash"] == content_hash({n: t.encode() for n, t in body["files"].items()})
    assert sorted(p.name for p in (tmp_path / "second").iterdir()) == sorted(body["files"])
    for name in body["files"]:
        assert (tmp_path / "second" / name).read_bytes() == (first / name).read_bytes(), name

    validate = subprocess.run(
        [sys.executable, "-m", "rasa", "data", "validate", "--fail-on-warnings",
         "--data", str(tmp_path / "second"), str(ROOT / "nlu_data" / "rules"), str(ROOT / "nlu_data" / "lookups"),
         "--domain", str(ROOT / "domain"), "--config", str(ROOT / "config.yml")],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert validate.returncode == 0, (validate.stdout + validate.stderr)[-3000:]
    assert httpx.get(f"{console_url}/console/api/training/export").status_code in (401, 403)  # not anonymous
