"""The webhook benchmark runs and loses nothing (tiny load; the real numbers come from ``python -m benchmarks.webhooks``).

Run as a subprocess, like ``make bench`` runs it: tests never import ``benchmarks``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_benchmark_smoke(tmp_path: Path) -> None:
    out = tmp_path / "rows.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.webhooks", "--senders", "5", "--requests", "30", "--warmup", "5",
         "--no-postgres", "--json", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = json.loads(out.read_text(encoding="utf-8"))
    assert [(r["channel"], r["database"]) for r in rows] == [("telegram", "sqlite"), ("zalo", "sqlite")]
    for row in rows:
        assert row["accepted"] == row["reached_agent"] == 30 and row["non_200"] == 0
        assert row["per_second"] > 0 and row["p95_ms"] >= row["median_ms"] > 0
    assert "| telegram | sqlite |" in done.stdout
