"""Turn cost before and after (issue 15), in one run: ``python -m benchmarks.turn_cost``.

Builds the assistant of a base commit (default: the commit issue 15 started from) and of
this checkout, and runs, alternating, ``--rounds`` times each:

* ``before``: the base commit, one Rasa process (as it shipped);
* ``after``: this checkout, one Rasa process (the ``make run`` default);
* ``after, 2 workers``: this checkout with ``RASA_WORKERS=2`` and the Redis lock store.

Each run seeds its own PostgreSQL database, warms up with 20 citizens, then measures the
six-message citizen script (:func:`benchmarks.turns._load`) at 1 user (30 rounds) and at 20
users (2 rounds), and the CPU each process group used per turn at 20 users (from /proc).
The NLU parse time of each side's own model (:mod:`benchmarks.parse_time`, same messages),
timed in the same round right after the turns, gives the ratio "turn time ÷ parse time" at 1
user of that round (so a host that slows down between rounds does not skew it). Medians of the
rounds are printed with the ratio after ÷ before.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List

from benchmarks.ab import DEMO, _env, export_tree, serve_tree, train_tree
from bot.settings import ROOT
from tests.support.postgres import scratch_postgres

BASE = "a47505a"
TICK = os.sysconf("SC_CLK_TCK")
GROUPS = {"Rasa": ("rasa_process", "model_pull"), "actions": ("rasa_sdk",), "PostgreSQL": ("postgres",)}
VARIANTS = [("before", "base", {}), ("after", "head", {}),
            ("after, 2 workers", "head", {"RASA_WORKERS": "2", "LOCK_STORE_URL": "redis://127.0.0.1:6379/12"})]


def cpu_seconds() -> Dict[str, float]:
    """CPU seconds used so far by the Rasa, action server and PostgreSQL processes."""
    out = dict.fromkeys(GROUPS, 0.0)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        for group, marks in GROUPS.items():
            if any(cmd.startswith(m) if group == "PostgreSQL" else m in cmd for m in marks):
                out[group] += (int(fields[11]) + int(fields[12])) / TICK
    return out


def parse_ms(tree: Path) -> float:
    """Median NLU parse time of ``tree``'s newest model, with ``tree``'s own components."""
    model = max((tree / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "parse_time.py"), str(model)], cwd=tree,
                          env=_env(tree), check=True, capture_output=True, text=True)
    return float(json.loads(proc.stdout.strip().splitlines()[-1])["parse_median_ms"])


def measure(tree: Path, extra: Dict[str, str]) -> Dict[str, float]:
    """One run of ``tree``'s assistant: latency at 1 and 20 users, CPU per turn at 20 users."""
    from benchmarks.turns import _load

    with scratch_postgres("turncost", migrate=False) as url, tempfile.TemporaryDirectory() as tmp:
        gen = serve_tree(tree, url, Path(tmp), **extra)
        base = next(gen)
        try:
            asyncio.run(_load(base, 20, 1, [DEMO]))  # warm-up (every worker)
            one = asyncio.run(_load(base, 1, 30, [DEMO]))  # 180 turns: a steadier median than 60
            before = cpu_seconds()
            twenty = asyncio.run(_load(base, 20, 2, [DEMO]))
            after = cpu_seconds()
        finally:
            gen.close()
    row = {"1 user median ms": one["median_ms"], "1 user p95 ms": one["p95_ms"],
           "20 users turns/s": twenty["turns_per_s"], "20 users median ms": twenty["median_ms"],
           "20 users p95 ms": twenty["p95_ms"]}
    row.update({f"CPU ms per turn, {g}": 1000 * (after[g] - before[g]) / twenty["turns"] for g in GROUPS})
    # the parse is timed right after, in the same round, so host drift between rounds cancels in the ratio
    row["NLU parse median ms (as served)"] = parse_ms(tree)
    row["turn ÷ parse (1 user)"] = row["1 user median ms"] / row["NLU parse median ms (as served)"]
    return row


def table(samples: Dict[str, Dict[str, List[float]]]) -> str:
    """Markdown: medians per variant, ratios against ``before``."""
    names = [v[0] for v in VARIANTS if v[0] in samples]
    lines = ["| measure | " + " | ".join(names) + " | " + " | ".join(f"{n} ÷ before" for n in names[1:]) + " |",
             "|---" * (2 * len(names)) + "|"]
    keys = list(samples[names[0]])
    med = {n: {k: statistics.median(samples[n][k]) for k in keys} for n in names}
    for key in keys:
        values = " | ".join(f"{med[n][key]:.1f}" for n in names)
        ratios = " | ".join(f"{med[n][key] / med['before'][key]:.2f}×" if med["before"][key] else "–"
                            for n in names[1:])
        lines.append(f"| {key} | {values} | {ratios} |")
    return "\n".join(lines)


def main(argv: List[str]) -> int:
    """Alternate the variants ``--rounds`` times; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default=BASE, help=f"commit to compare with (default {BASE}, before issue 15)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-workers", action="store_true", help="skip the 2-worker variant")
    args = parser.parse_args(argv)
    variants = [v for v in VARIANTS if not (args.no_workers and "workers" in v[0])]
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"base": export_tree(args.base, Path(tmp)), "head": ROOT}
        for tree in trees.values():
            train_tree(tree)
        samples: Dict[str, Dict[str, List[float]]] = {}
        for i in range(args.rounds):
            for name, side, extra in (variants if i % 2 == 0 else variants[::-1]):
                row = measure(trees[side], extra)
                for key, value in row.items():
                    samples.setdefault(name, {}).setdefault(key, []).append(value)
                print(f"  round {i + 1} {name}: " + ", ".join(f"{k} {v:.1f}" for k, v in row.items()), flush=True)
    print(f"\n### Turn cost: base {args.base} (before) vs this checkout (after), {args.rounds} alternating rounds, "
          f"{os.cpu_count()} cores, medians of the rounds\n")
    print(table(samples))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
