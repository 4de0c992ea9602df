"""``python -m workers.training`` as operators run it: register the first model, queue a job, run once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.db.session import session_scope, upgrade
from bot.settings import ROOT
from bot.training import registry


def run(args: list, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workers.training", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_register_enqueue_and_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    upgrade(url)
    env = {**os.environ, "DATABASE_URL": url, "APP_ENV": "test", "PYTHONPATH": str(ROOT),
           "TRAINING_MODELS_DIR": str(tmp_path / "registry"), "LOG_LEVEL": "WARNING"}
    archive = tmp_path / "first.tar.gz"
    archive.write_bytes(b"first model")
    done = run(["--register", str(archive), "--activate"], env)
    assert done.returncode == 0 and "active" in done.stdout, done.stderr
    with session_scope(url) as session:
        active = registry.active_version(session)
        assert active.trained_by == "cli" and active.metrics is None
        assert registry.model_path(tmp_path / "registry", active).read_bytes() == b"first model"
    assert run(["--once"], env).stdout.strip() == "no queued job"
    queued = run(["--enqueue"], env)
    assert queued.returncode == 0 and "queued" in queued.stdout
    again = run(["--enqueue"], env)
    assert again.returncode == 1 and "#1" in again.stderr
