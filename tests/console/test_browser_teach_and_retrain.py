"""Issue 14's "Done when" as one staff task in real Chromium, with every part real.

Three fee questions typed the way people write on a phone ("mấy củ" = how many million,
"mấy lít" = how many hundred thousand, no diacritics) were misunderstood by the shipped model
(its real parse results are seeded as Rasa's tracker store has them). The inbox collection
finds them; a trainer labels them ``ask_fee`` in the inbox page, retrains from the jobs page
(the fast config, trained from the database's ~1,400 examples), sees progress, the gate pass and
the model become active; within 30 s, without a restart, the assistant's REST channel answers
the first message with the fee answer of the procedure (before: the procedure overview).
Then the harmful edit, as staff would do it: every ``ask_fee`` example selected on the
examples page and moved to ``ask_duration`` with the bulk action (confirmed); the retrain is
blocked by the gate with ask_fee's F1 drop shown; the model server still answers the previous
ETag and the assistant still gives the fee answer.

The first retrain has no baseline here (``TRAINING_BASELINE_LOCAL=false``, as in
``test_browser_retrain.py``): the fast config (held-out accuracy 0.88) cannot match the shipped
model (0.997), and two fast trainings that differ only by the three labelled messages differ by
1.3 accuracy points and up to 14 F1 points on an intent (measured), more than the gate allows,
so a fast baseline would block by noise. The baseline path itself is tested in
``tests/training/test_runner.py``; the second retrain here is gated against the first.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator, List, Optional

import httpx
import pytest

from bot.cli.db import db_init
from bot.db.session import session_scope
from bot.settings import ROOT
from bot.training import examples, registry
from console.routes.model_server import MODEL_ROUTE
from tests.support.assistant import running_assistant
from tests.support.console import browser_login, running_console, screenshot
from tests.support.polling import wait_for
from tests.support.training import run_retrain, running_worker, training_env
from tests.support.training_data import create_events, insert_events, turn
from workers.training_inbox import collect_once

API_TOKEN = "a" * 40  # noqa: S105 - Rasa's HTTP API token of this test (for /status)
MODEL_TOKEN = "p" * 40  # noqa: S105 - the model server token of this test
TRAINING_TIMEOUT_MS = 900_000
FEE = "lam so do het may cu vay ad"  # the shipped model: ask_procedure 0.95
BIRTH = "lam khai sinh cho be mat may lit vay"  # nlu_fallback
RESIDENCE = "chuyen khau cho vo het may lit"  # nlu_fallback
FEE_ANSWER = "💰 Phí, lệ phí —"  # utter_procedure_fee


def _seed(url: str) -> None:
    """The three conversations, with the shipped model's real parse results (measured)."""
    t0 = time.time() - 2 * 3600
    create_events(url)
    insert_events(url, [
        *turn("telegram:601", t0, FEE, "ask_procedure", "action_answer_procedure", 0.95,
              [("ask_procedure", 0.95), ("ask_fee", 0.02)]),
        *turn("telegram:601", t0 + 60, "cho e gap can bo", "request_human", "action_request_human", 0.97),
        *turn("zalo:602", t0 + 600, BIRTH, "nlu_fallback", "utter_default", 0.35,
              [("nlu_fallback", 0.35), ("out_of_scope", 0.17), ("subscribe_reminders", 0.14)]),
        *turn("telegram:603", t0 + 1200, RESIDENCE, "nlu_fallback", "utter_default", 0.35,
              [("nlu_fallback", 0.35), ("ask_procedure", 0.31), ("out_of_scope", 0.29)]),
    ])


@pytest.fixture(scope="module")
def world(console_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A deployment as ``make run`` makes it (db-init: catalogue + training data store), console, worker, assistant."""
    work = Path(tmp_path_factory.mktemp("teach"))
    db_init(console_db, demo=False, national=False)
    _seed(console_db)
    env = {**training_env(work, ROOT / "nlu_data"), "MODEL_SERVER_TOKEN": MODEL_TOKEN}  # rules, lookups
    with running_console(console_db, work, env) as console, running_worker(console_db, work, env):
        assistant_env = {"MODEL_SERVER_URL": console + MODEL_ROUTE, "MODEL_SERVER_TOKEN": MODEL_TOKEN,
                         "MODEL_PULL_SECONDS": "2", "RASA_API_ENABLED": "true", "RASA_API_TOKEN": API_TOKEN}
        with running_assistant(console_db, work, assistant_env, startup_timeout=600) as assistant:
            yield {"console": console, "assistant": assistant, "db": console_db}


def model_id(assistant: str) -> Optional[str]:
    """The loaded model's id from Rasa's ``/status``; None while Rasa is busy loading one."""
    try:
        response = httpx.get(f"{assistant}/status", params={"token": API_TOKEN}, timeout=5)
    except httpx.HTTPError:
        return None
    return response.json().get("model_id") if response.status_code == 200 else None


def ask(assistant: str, sender: str, text: str) -> List[str]:
    """The texts the REST channel answers ``text`` with (a fresh conversation per sender)."""
    replies = httpx.post(f"{assistant}/webhooks/rest/webhook", json={"sender": sender, "message": text},
                         timeout=60).json()
    return [r.get("text") or "" for r in replies]


def fee_answer(replies: List[str]) -> Optional[str]:
    """The fee answer among ``replies``, if any."""
    return next((r for r in replies if r.startswith(FEE_ANSWER)), None)


def label_in_inbox(page, console: str) -> None:  # type: ignore[no-untyped-def]
    """The trainer labels the three messages ``ask_fee`` in the inbox page."""
    page.goto(f"{console}/console/training/inbox")
    items = page.locator(".inbox-item")
    items.first.wait_for()
    assert items.count() == 3
    assert "Dẫn tới gặp cán bộ" in items.filter(has_text=FEE).inner_text()
    for text in (FEE, BIRTH, RESIDENCE):
        item = page.locator(".inbox-item").filter(has_text=text)
        item.locator(".intent-choice").select_option("ask_fee")
        with page.expect_navigation():  # the page reloads after the message
            item.get_by_role("button", name="Gắn nhãn").click()
            page.locator("#training-status").get_by_text("Đã thêm ví dụ cho ý định ask_fee.").wait_for()
    page.get_by_text("Không có tin nhắn nào.").wait_for()
    page.locator("select[name=status]").select_option("labelled")
    page.get_by_role("button", name="Xem").click()
    page.get_by_text("3 nhóm tin nhắn.").wait_for()


def move_all_fee_examples(page, console: str) -> int:  # type: ignore[no-untyped-def]
    """The harmful edit with the examples page's bulk action; returns how many were moved."""
    page.goto(f"{console}/console/training/examples?intent=ask_fee")
    rows = page.locator("table.examples tbody tr")
    shown = rows.count()
    assert shown > 80 and f"{shown} ví dụ." in page.content()  # all of them on one page
    page.get_by_label("Chọn tất cả ví dụ đang hiện").check()
    page.locator("#bulk-count").get_by_text(f"Đã chọn {shown} ví dụ.").wait_for()
    page.locator("#bulk-move select[name=intent]").select_option("ask_duration")
    asked: List[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    with page.expect_navigation(timeout=60_000):
        page.get_by_role("button", name="Chuyển các ví dụ đã chọn").click()
        page.locator("#training-status").get_by_text(f"Đã chuyển {shown} ví dụ sang ý định ask_duration.").wait_for()
    assert asked and asked[0].startswith(f"Chuyển {shown} ví dụ sang ý định ask_duration?")
    page.get_by_text("0 ví dụ.", exact=True).wait_for()
    return shown


def test_teach_retrain_live_then_harmful_edit_blocked(world: dict, page) -> None:  # type: ignore[no-untyped-def]
    console, assistant, db = world["console"], world["assistant"], world["db"]
    with session_scope(db) as session:
        assert examples.search_examples(session, "", None, 1)[0] > 1300  # db-init filled the store
    shipped = model_id(assistant)
    assert shipped, "the assistant starts with its local model while no version is active"
    # the inbox collection (workers.training_inbox) over the past conversations, before anyone asks live:
    # whether the live question below lands in the inbox too depends on the shipped model's confidence
    assert collect_once(db)["added"] == 3
    before = ask(assistant, "teach-before", FEE)
    assert before and fee_answer(before) is None, before  # misunderstood: no fee answer
    browser_login(page, console, "trainer1")
    label_in_inbox(page, console)
    screenshot(page, "54-teach-inbox-labelled")

    run_retrain(page, console, TRAINING_TIMEOUT_MS)
    verdict = page.locator("#gate-verdict").inner_text()
    assert "Đạt" in verdict, verdict
    activated = time.monotonic()
    assert page.locator("#job-percent").inner_text() == "100%"
    screenshot(page, "55-teach-gate-passed")
    with session_scope(db) as session:
        first = registry.active_version(session)
        assert first is not None and first.gate_passed and first.trained_by == "trainer1"
        first_id, first_rasa_id, first_etag = first.id, first.rasa_model_id, registry.etag(first.model_hash)
    assert first_rasa_id and first_rasa_id != shipped
    assert wait_for(lambda: model_id(assistant) == first_rasa_id, 30, step=0.5), "model not picked up"
    answered = wait_for(lambda: fee_answer(ask(assistant, f"teach-after-{time.monotonic()}", FEE)), 30, step=1)
    assert time.monotonic() - activated <= 30, "the new model answered only after 30 s"
    assert answered and "đất" in answered.lower(), answered  # the fee answer, for the land-use certificate

    moved = move_all_fee_examples(page, console)
    with session_scope(db) as session:
        assert examples.search_examples(session, "", "ask_fee", 1)[0] == 0
        assert examples.search_examples(session, "may cu vay", "ask_duration", 5)[0] == 1
    run_retrain(page, console, TRAINING_TIMEOUT_MS)
    verdict = page.locator("#gate-verdict").inner_text()
    assert "Bị chặn" in verdict and "F1 của ý định ask_fee giảm" in verdict, verdict
    fee_row = page.locator("table.gate-table tr[data-key='f1:ask_fee']")
    assert "fail" in (fee_row.get_attribute("class") or "") and "Không đạt" in fee_row.inner_text()
    screenshot(page, "56-teach-gate-blocked")
    with session_scope(db) as session:
        assert registry.active_version(session).id == first_id  # the active model stays
        blocked = registry.list_versions(session)[0]
        assert blocked.gate_passed is False and blocked.active_slot is None
    served = httpx.get(console + MODEL_ROUTE, headers={"Authorization": f"Bearer {MODEL_TOKEN}",
                                                       "If-None-Match": first_etag}, timeout=10)
    assert served.status_code == 304 and served.headers["etag"] == first_etag
    time.sleep(5)  # two pulls: still the first model
    assert model_id(assistant) == first_rasa_id
    assert fee_answer(ask(assistant, "teach-after-block", FEE)), f"{moved} examples moved, yet the fee answer is gone"
