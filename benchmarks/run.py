"""`make bench`: every benchmark of the project, printed as Markdown tables.

Each part runs as its own process (``python -m benchmarks.<part>``) so that models,
servers and database engines of one part never disturb the next. The tables are
also written to ``docs/benchmarks.md`` (quoted in README). Run a subset with
``python -m benchmarks.run nlu_bench turns``. Timings on these 2-core machines are
noisy: medians and p95 are reported, with ratios against a baseline of the same run.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
import time
from typing import List

from bot.settings import ROOT

PARTS = {
    "nlu_bench": "NLU: our pipeline vs. stock Rasa, ablations, parse latency, training time",
    "turns": "Full turns through the REST channel; dossier lookup on 1,000,000 dossiers",
    "turn_cost": "Turn cost before and after issue 15 (base commit rebuilt in the same run; 1 and 2 Rasa workers)",
    "webhooks": "Signed Telegram and Zalo webhooks at 50 concurrent senders",
    "reminders": "Reminder sweep over 1,000,000 dossiers and 100,000 subscriptions",
    "answers": "Answer length per aspect over the catalogue (phone screen)",
    "search": "Procedure search over the national catalogue (citizen phrasings; today's index vs. the old difflib)",
    "search_routing": "Which procedure questions reach the search (the trained NLU's routes)",
    "conversations": "End-to-end conversation pass rate (scripted conversations, real assistant)",
    "analytics": "Analytics pages and conversation review on 1,000,000 conversations and 10,000,000 events",
}


def main(argv: List[str]) -> int:
    """Run the named parts (all by default); write docs/benchmarks.md when all ran."""
    names = argv or list(PARTS)
    out = [f"# Benchmarks\n\nRun {dt.datetime.now():%Y-%m-%d %H:%M} on {platform.node()} "
           f"({os.cpu_count()} cores, Python {platform.python_version()}) with `make bench`."]
    print(out[0], flush=True)
    failed = 0
    for name in names:
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", f"benchmarks.{name}"], cwd=ROOT, capture_output=True,
                              text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        body = "\n".join(line for line in proc.stdout.strip().splitlines()
                         if "Your Rasa model is trained" not in line)  # Rasa prints this on stdout
        if proc.returncode != 0:
            failed += 1
            body += f"\n\n**failed** (exit {proc.returncode}):\n```\n{proc.stderr[-3000:]}\n```"
        section = f"\n## {PARTS[name]}\n\n{body}\n\n({time.perf_counter() - started:.0f} s)"
        print(section, flush=True)
        out.append(section)
    if set(names) == set(PARTS):
        (ROOT / "docs").mkdir(exist_ok=True)
        (ROOT / "docs" / "benchmarks.md").write_text("\n".join(out) + "\n", encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
