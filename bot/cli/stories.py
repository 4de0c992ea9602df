"""``test-stories``: the conversation tests (``tests/test_stories.yml``) against a fresh seeded database."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from bot.cli.db import db_init
from bot.cli.processes import action_server, free_port, rasa_command, rasa_env
from bot.cli.runtime import write_runtime_files
from bot.cli.train import latest_model
from bot.settings import ROOT, get_settings

STORIES = ROOT / "tests" / "test_stories.yml"


def test_stories() -> int:
    """``rasa test core`` on the latest model with a fresh action server and database; returns the exit code."""
    if not STORIES.exists():
        print("no conversation tests")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite:///{tmp}/stories.db"
        env = {"DATABASE_URL": db_url, "SCHEDULER_MODE": "off"}
        os.environ.update(env)
        get_settings.cache_clear()
        db_init(db_url)
        port = free_port()
        paths = write_runtime_files(db_url, port, Path(tmp))
        out = Path(tmp) / "results"
        with action_server(port, env):
            cmd = rasa_command("test", "core", "--stories", str(STORIES), "--model", str(latest_model()),
                               "--endpoints", str(paths["endpoints"]), "--fail-on-prediction-errors",
                               "--out", str(out))
            code = subprocess.call(cmd, cwd=ROOT, env=rasa_env())
        failed = out / "failed_test_stories.yml"
        if failed.exists() and "None of the test stories failed" not in failed.read_text(encoding="utf-8"):
            print(failed.read_text(encoding="utf-8"))
            code = code or 1
        print(f"conversation tests: {'passed' if code == 0 else 'FAILED'}")
        return code
