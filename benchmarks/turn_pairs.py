"""Paired turn-cost A/B: ``python -m benchmarks.turn_pairs --base COMMIT [--bursts 12]``.

On these 2-core machines the host's speed drifts by a third within minutes, more than a small
change is worth, so rounds of several minutes each (:mod:`benchmarks.turn_cost`) cannot tell a
10 % gain from the drift. Here the base commit's assistant and this checkout's run *at the same
time* (each its own ``bot.cli serve``, model and scratch PostgreSQL database; idle while the other
is driven) and are driven in short alternating bursts: per burst, the six-message citizen script
of :mod:`benchmarks.turns` three times at 1 citizen, then once at 20 citizens, while the CPU of
the side's whole process session (Rasa, the action server, their threads) is read from /proc.
Each burst of one side is paired with the next of the other, so drift falls on both; the medians
of the paired ratios are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Dict, List

from benchmarks.ab import DEMO, export_tree, serve_tree, train_tree
from benchmarks.turns import _load
from bot.settings import ROOT
from tests.support.postgres import scratch_postgres

TICK = os.sysconf("SC_CLK_TCK")
SIDES = ("before", "after")
MEASURES = ("1 user median ms", "20 users turns/s", "20 users median ms", "20 users p95 ms",
            "CPU ms per turn (assistant)")


def session_cpu(session: int) -> float:
    """CPU seconds used so far by the processes of one session (a ``serve`` and its children)."""
    total = 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session:
            total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def session_of(tree: Path) -> int:
    """The session id of the ``bot.cli serve`` started in ``tree`` (it starts its own session)."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            where = Path(os.readlink(f"/proc/{pid}/cwd"))
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if command[1:4] == [b"-m", b"bot.cli", b"serve"] and where == tree.resolve():
            return int(fields[3])
    raise RuntimeError(f"no assistant serving from {tree}")


def burst(url: str, session: int) -> Dict[str, float]:
    """One burst on one side: the 1-citizen median, the 20-citizen rate, median and p95, the CPU per turn."""
    one = asyncio.run(_load(url, 1, 3, [DEMO]))
    before = session_cpu(session)
    twenty = asyncio.run(_load(url, 20, 1, [DEMO]))
    used = session_cpu(session) - before
    return {MEASURES[0]: one["median_ms"], MEASURES[1]: twenty["turns_per_s"], MEASURES[2]: twenty["median_ms"],
            MEASURES[3]: twenty["p95_ms"], MEASURES[4]: 1000 * used / twenty["turns"]}


def main(argv: List[str]) -> int:
    """Both assistants up, alternating bursts; print medians and paired ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="commit to compare this checkout with")
    parser.add_argument("--bursts", type=int, default=12)
    args = parser.parse_args(argv)
    samples: Dict[str, Dict[str, List[float]]] = {side: {m: [] for m in MEASURES} for side in SIDES}
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        trees = {"before": export_tree(args.base, Path(tmp)), "after": ROOT}
        if (ROOT / "models").is_dir():  # `bot.cli train` keeps it when the base's data give the same model
            shutil.copytree(ROOT / "models", trees["before"] / "models", dirs_exist_ok=True)
        urls, sessions = {}, {}
        for side in SIDES:
            train_tree(trees[side])
            database = stack.enter_context(scratch_postgres(f"pairs{side}", migrate=False))
            workdir = Path(tmp) / f"run-{side}"
            workdir.mkdir()
            serving = serve_tree(trees[side], database, workdir)
            urls[side] = next(serving)
            stack.callback(serving.close)
            sessions[side] = session_of(trees[side])
            asyncio.run(_load(urls[side], 20, 1, [DEMO]))  # warm-up
        for i in range(args.bursts):
            for side in (SIDES if i % 2 == 0 else SIDES[::-1]):
                for measure, value in burst(urls[side], sessions[side]).items():
                    samples[side][measure].append(value)
    print(f"\n### Paired bursts: {args.base} (before) vs this checkout (after), {args.bursts} bursts each, "
          f"{os.cpu_count()} cores\n")
    print("| measure | before (median) | after (median) | after ÷ before (median of paired ratios) |")
    print("|---|---|---|---|")
    for measure in MEASURES:
        before, after = samples["before"][measure], samples["after"][measure]
        ratio = statistics.median(a / b for a, b in zip(after, before))
        print(f"| {measure} | {statistics.median(before):.1f} | {statistics.median(after):.1f} | {ratio:.3f}× |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
