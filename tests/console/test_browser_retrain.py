"""Retraining in real Chromium, with the real worker, the real console and the real assistant.

A trainer starts a retrain (the fast config); the page shows its progress; the gate passes
(no active model yet) and the model becomes active; the running assistant pulls it from the
console's model server within 30 s, without a restart (Rasa's ``/status`` reports the new
``model_id``; the REST channel answers). Then every ``ask_fee`` example is moved to
``ask_duration`` in the data the job trains from: the gate blocks the candidate, the page
says why (ask_fee's F1 row highlighted), and the assistant keeps the active model.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Iterator, Optional

import httpx
import pytest

from bot.db.session import session_scope
from bot.settings import ROOT
from bot.training import registry
from console.routes.model_server import MODEL_ROUTE
from tests.support.assistant import running_assistant
from tests.support.console import browser_login, running_console, screenshot
from tests.support.polling import wait_for
from tests.support.training import run_retrain, running_worker, training_env

API_TOKEN = "t" * 40  # noqa: S105 - Rasa's HTTP API token of this test (for /status)
MODEL_TOKEN = "m" * 40  # noqa: S105 - the model server token of this test
TRAINING_TIMEOUT_MS = 600_000


@pytest.fixture(scope="module")
def world(console_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Console, training worker and assistant on one database; the job's data is a copy of nlu_data/."""
    work = Path(tmp_path_factory.mktemp("retrain"))
    data = work / "nlu_data"
    shutil.copytree(ROOT / "nlu_data", data)
    env = {**training_env(work, data), "MODEL_SERVER_TOKEN": MODEL_TOKEN}
    with running_console(console_db, work, env) as console, running_worker(console_db, work, env):
        assistant_env = {"MODEL_SERVER_URL": console + MODEL_ROUTE, "MODEL_SERVER_TOKEN": MODEL_TOKEN,
                         "MODEL_PULL_SECONDS": "2", "RASA_API_ENABLED": "true", "RASA_API_TOKEN": API_TOKEN}
        with running_assistant(console_db, work, assistant_env, startup_timeout=600) as assistant:
            yield {"console": console, "assistant": assistant, "data": data, "db": console_db, "work": work}


def model_id(assistant: str) -> Optional[str]:
    """The model_id Rasa's ``/status`` reports (the loaded model's); None while Rasa is busy.

    Rasa loads a pulled model inside its event loop, so for the seconds the load takes it
    answers nothing: a timeout here means "not yet", not a failure.
    """
    try:
        response = httpx.get(f"{assistant}/status", params={"token": API_TOKEN}, timeout=5)
    except httpx.HTTPError:
        return None
    return response.json().get("model_id") if response.status_code == 200 else None


def test_retrain_gate_and_live_pickup(world: dict, page) -> None:  # type: ignore[no-untyped-def]
    console, assistant = world["console"], world["assistant"]
    local_id = model_id(assistant)
    assert local_id, "the assistant must start with its local model while no model is active"

    browser_login(page, console, "trainer1")
    run_retrain(page, console, TRAINING_TIMEOUT_MS)
    assert "Đạt" in page.locator("#gate-verdict").inner_text()
    assert page.locator("[data-state=passed]").count() >= 1
    activated = time.monotonic()
    with session_scope(world["db"]) as session:
        first = registry.active_version(session)
        assert first is not None and first.gate_passed and first.rasa_model_id
        first_id, first_rasa_id = first.id, first.rasa_model_id
    assert first_rasa_id != local_id
    assert wait_for(lambda: model_id(assistant) == first_rasa_id, 30), "the assistant did not pick up the model"
    assert time.monotonic() - activated <= 30
    replies = httpx.post(f"{assistant}/webhooks/rest/webhook", json={"sender": "retrain-1", "message": "xin chào"},
                         timeout=60).json()
    assert replies and replies[0].get("text")

    # The harmful edit, in the data the job trains from: every ask_fee example becomes ask_duration.
    for path in (world["data"] / "nlu").glob("*.yml"):
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("- intent: ask_fee\n", "- intent: ask_duration\n"), encoding="utf-8")
    run_retrain(page, console, TRAINING_TIMEOUT_MS)
    verdict = page.locator("#gate-verdict").inner_text()
    assert "Bị chặn" in verdict and "ask_fee" in verdict
    fee_row = page.locator("table.gate-table tr[data-key='f1:ask_fee']")
    assert "fail" in (fee_row.get_attribute("class") or "")
    assert "Không đạt" in fee_row.inner_text()
    screenshot(page, "52-retrain-gate")
    with session_scope(world["db"]) as session:
        assert registry.active_version(session).id == first_id  # the active model stays
        blocked = registry.list_versions(session)[0]
        assert blocked.gate_passed is False and blocked.active_slot is None
    time.sleep(5)  # two pulls: still the first model
    assert model_id(assistant) == first_rasa_id

    page.goto(f"{console}/console/training/models")
    current = page.locator("#models tr.current")
    assert current.count() == 1 and current.get_attribute("data-version") == str(first_id)
    assert page.locator("#models tbody tr").count() == 2
    screenshot(page, "53-models")
