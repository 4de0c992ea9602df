"""The training worker for tests: a real ``python -m workers.training`` process."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator

from bot.settings import ROOT
from tests.support.console import stop_group

FAST_CONFIG = ROOT / "tests" / "training" / "config_fast.yml"


def training_env(workdir: Path, data_dir: Path) -> Dict[str, str]:
    """Settings of a retraining test: the fast config, scratch folders, data from ``data_dir``."""
    return {"TRAINING_CONFIG": str(FAST_CONFIG), "TRAINING_DATA_DIR": str(data_dir),
            "TRAINING_WORK_DIR": str(workdir / "training-work"), "TRAINING_MODELS_DIR": str(workdir / "registry"),
            "TRAINING_POLL_SECONDS": "1", "TRAINING_NIGHTLY_HOUR": "-1",
            # the fast config cannot match the shipped model: no first baseline from it (a test registers its own)
            "TRAINING_BASELINE_LOCAL": "false"}


@contextlib.contextmanager
def running_worker(database_url: str, workdir: Path, extra_env: Dict[str, str]) -> Iterator[subprocess.Popen]:
    """``python -m workers.training`` on ``database_url`` until the block ends (its log in ``workdir``)."""
    env = {**os.environ, "DATABASE_URL": database_url, "APP_ENV": "test", "LOG_LEVEL": "INFO",
           "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false", **extra_env}
    with open(workdir / "training-worker.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "workers.training"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        stop_group(proc)


def run_retrain(page, console: str, timeout_ms: int) -> str:  # type: ignore[no-untyped-def]
    """In the browser: start a retrain from the jobs page, see it progress, wait (``timeout_ms``) for
    the gate's verdict; returns the job page URL."""
    from tests.support.polling import wait_for

    page.goto(f"{console}/console/training/jobs")
    page.get_by_role("button", name="Bắt đầu huấn luyện lại").click()
    page.wait_for_url(f"{console}/console/training/jobs/*")
    # The page follows the job: its percentage grows past the data step while training runs.
    seen = wait_for(lambda: int(page.locator("#job-percent").inner_text().rstrip("%") or 0) >= 10
                    and page.locator("#job-stage").inner_text().strip(), 300, step=0.5)
    assert seen, "no progress shown"
    page.wait_for_selector("#gate-verdict", timeout=timeout_ms)
    return page.url
