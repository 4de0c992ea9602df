"""Same-run A/B of an earlier commit against the working tree (``python -m benchmarks.ab``).

These 2-core machines are noisy, so a figure from another day says little. This runs the
benchmark of a *base* commit and of this checkout one after the other, alternating, in the
same run, and prints the medians of each side and their ratio:

- ``webhooks``: each tree's own ``benchmarks/webhooks.py`` (signed Telegram and Zalo
  webhooks at 50 senders, SQLite and PostgreSQL), with the same options on both sides;
- ``turns``: each tree's own assistant (``python -m bot.cli serve``, its own trained model,
  its own seeded PostgreSQL database) driven by this checkout's load generator
  (:func:`benchmarks.turns._load`: the same six-message citizen script) at 1 and 20 users.

The base tree is exported with ``git archive`` into a temporary folder (no worktree, nothing
left behind) and runs with this checkout's virtualenv.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import httpx

from bot.cli.processes import free_port, wait_for_port
from bot.settings import ROOT
from tests.support.postgres import scratch_postgres

DEMO = ("000.00.15.H65-240312-0001", "5678")
ROW = re.compile(r"^\|\s*(telegram|zalo)\s*\|\s*(sqlite|postgresql)\s*\|(.*)\|\s*$")


def export_tree(commit: str, into: Path) -> Path:
    """``git archive`` of ``commit`` unpacked under ``into``; returns the tree's folder."""
    tree = into / f"base-{commit[:10]}"
    tree.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", "--format=tar", commit], cwd=ROOT, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def _env(tree: Path, **extra: str) -> Dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(tree), "TF_CPP_MIN_LOG_LEVEL": "3",
           "SQLALCHEMY_SILENCE_UBER_WARNING": "1", "SANIC_REGISTER": "False", "CONSOLE_ENABLED": "false",
           "APP_ENV": "test", **extra}  # an exported tree has no .git, so APP_ENV must be said
    for name in ("TELEGRAM_BOT_TOKEN", "ZALO_APP_ID", "ONESTOP_PUSH_TOKEN", "DATABASE_URL"):
        if name not in extra:
            env.pop(name, None)
    return env


# -- webhooks -------------------------------------------------------------------------------------


def webhook_round(tree: Path, requests: int) -> Dict[Tuple[str, str], float]:
    """One run of ``tree``'s webhook benchmark: accepted requests per second per (channel, database)."""
    cmd = [sys.executable, "-m", "benchmarks.webhooks", "--requests", str(requests)]
    if "--warmup" in (tree / "benchmarks" / "webhooks.py").read_text(encoding="utf-8"):
        cmd += ["--warmup", "0"]  # the base's benchmark has no warm-up: measure both the same way
    out = subprocess.run(cmd, cwd=tree, env=_env(tree), capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise RuntimeError(f"webhook benchmark of {tree.name} failed:\n{out.stderr[-2000:]}")
    header: List[str] = []
    result: Dict[Tuple[str, str], float] = {}
    for line in out.stdout.splitlines():
        if line.startswith("| channel"):
            header = [c.strip() for c in line.strip("|").split("|")]
        match = ROW.match(line)
        if match and header:
            cells = dict(zip(header, [c.strip() for c in line.strip().strip("|").split("|")]))
            result[(match.group(1), match.group(2))] = float(cells["per_second"])
    if not result:
        raise RuntimeError(f"no table in the output of {tree.name}:\n{out.stdout[-2000:]}")
    return result


# -- turns ----------------------------------------------------------------------------------------


def train_tree(tree: Path) -> None:
    """Train ``tree``'s model in its own ``models/`` (``bot.cli train`` skips it when one matches)."""
    subprocess.run([sys.executable, "-m", "bot.cli", "train"], cwd=tree, env=_env(tree), check=True,
                       stdout=subprocess.DEVNULL)


def serve_tree(tree: Path, database_url: str, workdir: Path, **extra: str) -> Iterator[str]:
    """Seed ``database_url`` with ``tree``'s own data, then run ``tree``'s assistant on it (``extra``: env)."""
    port, action_port = free_port(), free_port()
    env = _env(tree, DATABASE_URL=database_url, RASA_PORT=str(port), ACTION_PORT=str(action_port),
               ACTION_SERVER_URL=f"http://127.0.0.1:{action_port}/webhook", SCHEDULER_MODE="off",
               LOG_LEVEL="WARNING", RUN_DIR=str(workdir), APP_ENV="test", REST_CHANNEL_ENABLED="true",
               SEED_DEMO_DOSSIERS="true", **extra)
    subprocess.run([sys.executable, "-m", "bot.cli", "db-init"], cwd=tree, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(workdir / "serve.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], cwd=tree, env=env,
                                stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        try:
            wait_for_port("127.0.0.1", port, timeout=300, proc=proc)
            url = f"http://127.0.0.1:{port}"
            httpx.get(f"{url}/", timeout=120)
            yield url
        finally:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def turn_round(tree: Path, rounds_20: int) -> Dict[str, float]:
    """Median and p95 at 1 user, turns/s and p95 at 20 users, on ``tree``'s assistant."""
    from benchmarks.turns import _load

    with scratch_postgres("ab", migrate=False) as url, tempfile.TemporaryDirectory() as tmp:
        gen = serve_tree(tree, url, Path(tmp))
        base = next(gen)
        try:
            asyncio.run(_load(base, 1, 1, [DEMO]))  # warm-up
            one = asyncio.run(_load(base, 1, 5, [DEMO]))
            twenty = asyncio.run(_load(base, 20, rounds_20, [DEMO]))
        finally:
            gen.close()
    return {"1 user median ms": one["median_ms"], "1 user p95 ms": one["p95_ms"],
            "20 users median ms": twenty["median_ms"], "20 users p95 ms": twenty["p95_ms"],
            "20 users turns/s": twenty["turns_per_s"]}


# -- report ---------------------------------------------------------------------------------------


def _table(title: str, base: str, samples: Dict[str, Dict[str, List[float]]]) -> str:
    lines = [f"\n{title}\n", f"| measure | base {base} (median) | this checkout (median) | this ÷ base | runs each |",
             "|---|---|---|---|---|"]
    for key in samples["base"]:
        b, h = statistics.median(samples["base"][key]), statistics.median(samples["head"][key])
        lines.append(f"| {key} | {b:.1f} | {h:.1f} | {h / b:.2f}× | {len(samples['head'][key])} |")
    return "\n".join(lines)


def main(argv: List[str]) -> int:
    """Alternate base and head ``--rounds`` times per part; print the medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="1d86bc5", help="commit to compare with (default: before issue 11)")
    parser.add_argument("--part", choices=["webhooks", "turns"], action="append")
    parser.add_argument("--head", help="commit to measure instead of this checkout's working tree")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=2000, help="webhooks per channel and database")
    args = parser.parse_args(argv)
    commit = subprocess.run(["git", "rev-parse", "--short", args.base], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.strip()
    head = subprocess.run(["git", "rev-parse", "--short", args.head or "HEAD"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.strip()
    what = f"commit {head}" if args.head else f"this checkout ({head}, working tree)"
    print(f"A/B in one run: base {commit} vs {what}, {args.rounds} alternating "
          f"rounds per part, {os.cpu_count()} cores", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"base": export_tree(commit, Path(tmp)), "head": export_tree(head, Path(tmp)) if args.head else ROOT}
        for part in args.part or ["webhooks", "turns"]:
            samples: Dict[str, Dict[str, List[float]]] = {"base": {}, "head": {}}
            if part == "turns":
                for tree in trees.values():
                    train_tree(tree)
            for i in range(args.rounds):
                order = ("base", "head") if i % 2 == 0 else ("head", "base")
                for side in order:
                    tree = trees[side]
                    if part == "webhooks":
                        got = {f"{c} on {d}, webhooks/s": v for (c, d), v in webhook_round(tree, args.requests).items()}
                    else:
                        got = turn_round(tree, rounds_20=2)
                    for key, value in got.items():
                        samples[side].setdefault(key, []).append(value)
                    print(f"  {part} round {i + 1} {side}: " + ", ".join(f"{k} {v:.1f}" for k, v in got.items()),
                          flush=True)
            print(_table(f"### {part}: base {commit} vs {what}", commit, samples), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
