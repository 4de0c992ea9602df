"""``train``: train a model unless one matching data, domain and config exists (``rasa train``)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bot.cli.nlu_data import generate_lookups
from bot.cli.processes import rasa_command, rasa_env
from bot.settings import ROOT

MODELS = ROOT / "models"


def train(force: bool = False) -> Path:
    """Regenerate the lookups, then ``rasa train`` (which keeps the newest model when nothing changed).

    Returns:
        The model path (the newest in ``models/``: the new one, or the unchanged one).
    """
    generate_lookups()
    cmd = rasa_command("train", "--domain", str(ROOT / "domain"), "--config", str(ROOT / "config.yml"),
                       "--data", str(ROOT / "nlu_data"), "--out", str(MODELS), "--skip-validation")
    if force:
        cmd.append("--force")
    code = subprocess.call(cmd, cwd=ROOT, env=rasa_env())
    if code != 0:
        raise SystemExit(f"training failed (code {code})")
    return latest_model()


def latest_model() -> Path:
    """Newest trained model."""
    models = sorted(MODELS.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise SystemExit("no model in models/: run `make train`")
    return models[-1]
