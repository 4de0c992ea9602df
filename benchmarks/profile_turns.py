"""Where a turn's time goes: ``python -m benchmarks.profile_turns [--seconds 20] [--gil] [--users 20]``.

Runs the real assistant on a scratch PostgreSQL database, drives 20 citizens (``--users``) with the
six-message script of :mod:`benchmarks.turns`, and samples the Rasa server and the action
server with ``py-spy`` (a dev dependency; it attaches to the processes, so run as root or with
``ptrace`` allowed). Prints, for each process, the share of its busy samples per part of a
turn (idle waits left out). ``--gil`` counts only samples holding the GIL (CPU in Python);
without it, blocking waits on the database count too. The summary in docs/profile.md comes
from this command.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from benchmarks.turns import DEMO, _load
from bot.cli.db import db_init
from tests.support.assistant import running_assistant
from tests.support.postgres import scratch_postgres

IDLE = ("_worker (", "serve (", "wait (", "select (")
# part → marks; a sample goes to the first part one of whose marks is in one of its frames. With
# --gil py-spy sometimes loses a stack's outer frames, so module marks ("(jsonschema/") back up
# the function marks.
RASA_PARTS: List[Tuple[str, Tuple[str, ...]]] = [
    ("action-response validation (jsonschema)", ("validate_action_result (", "(jsonschema/")),
    ("NLU parse", ("parse_message (rasa/core/processor.py", "(tensorflow/", "(rasa/nlu/", "(bot/nlu/")),
    ("policy prediction", ("_predict_next_with_tracker (", "(rasa/core/policies/")),
    ("tracker load (SQL, events)", ("get_or_create_tracker (",)),
    ("tracker save (SQL, masking)", ("save_tracker (",)),
    ("action server call (HTTP, JSON)", ("run (rasa/core/actions/action.py", "(aiohttp/")),
    ("agents' pending messages (REST channel)", ("take_pending (",)),
    ("graph runner (dask)", ("(dask/",)),
    ("database, caller not sampled", ("(sqlalchemy/", "(psycopg2/")),
]
ACTION_PARTS: List[Tuple[str, Tuple[str, ...]]] = [
    ("procedure answers (catalogue, search)", ("answer_procedure (",)),
    ("dossier form validation (verification)", ("get_validation_events (",)),
    ("dossier display (lookup, access)", ("run (actions/dossiers.py",)),
    ("other actions", ("run (rasa_sdk/executor.py",)),
]


def summarise(raw: str, parts: Sequence[Tuple[str, Tuple[str, ...]]]) -> Tuple[int, Dict[str, int]]:
    """Busy samples of a py-spy ``raw`` profile, and how many fall in each part (first match wins)."""
    busy, counts = 0, collections.Counter()
    for line in raw.splitlines():
        if not line.strip():
            continue
        stack, n = line.rsplit(" ", 1)
        frames = stack.split(";")
        if frames[-1].startswith(IDLE):
            continue
        busy += int(n)
        name = next((name for name, marks in parts if any(m in f for m in marks for f in frames)),
                    "other (server, channel, JSON)")
        counts[name] += int(n)
    return busy, dict(counts)


def _pid(marks: Sequence[str]) -> int:
    """The first process whose command line holds one of ``marks``."""
    for path in sorted(Path("/proc").iterdir(), key=lambda p: p.name):
        if path.name.isdigit():
            try:
                cmd = (path / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if any(m in cmd for m in marks):
                return int(path.name)
    raise RuntimeError(f"no process with {marks}")


def record(pid: int, seconds: int, gil: bool, out: Path) -> subprocess.Popen:
    """Start ``py-spy record`` on ``pid`` for ``seconds`` (raw collapsed stacks into ``out``)."""
    cmd = [str(Path(sys.executable).with_name("py-spy")), "record", "-p", str(pid), "-d", str(seconds), "-r", "200",
           "-f", "raw", "-o", str(out), "--nonblocking"] + (["--gil"] if gil else [])
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main(argv: List[str]) -> int:
    """Profile both servers under ``--users`` citizens; print the shares."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--gil", action="store_true", help="only samples holding the GIL (CPU in Python)")
    parser.add_argument("--keep", type=Path, help="also keep py-spy's raw profiles in this folder")
    parser.add_argument("--users", type=int, default=20, help="citizens chatting at once")
    args = parser.parse_args(argv)
    with scratch_postgres("profile", migrate=False) as url, tempfile.TemporaryDirectory() as tmp:
        db_init(url)
        with running_assistant(url, Path(tmp)) as base:
            asyncio.run(_load(base, args.users, 1, [DEMO]))  # warm-up
            stop = threading.Event()

            def load() -> None:
                while not stop.is_set():
                    asyncio.run(_load(base, args.users, 1, [DEMO]))

            driver = threading.Thread(target=load, daemon=True)
            driver.start()
            folder = args.keep or Path(tmp)
            folder.mkdir(parents=True, exist_ok=True)
            outs = {"Rasa server": folder / "rasa.txt", "action server": folder / "actions.txt"}
            spies = [record(_pid(("rasa_process", "model_pull")), args.seconds, args.gil, outs["Rasa server"]),
                     record(_pid(("rasa_sdk",)), args.seconds, args.gil, outs["action server"])]
            for spy in spies:
                spy.wait(args.seconds + 60)
            stop.set()
            driver.join(120)
            kind = "samples holding the GIL" if args.gil else "busy samples (CPU and blocking waits)"
            print(f"\n### Where the time goes at {args.users} citizens ({args.seconds} s of py-spy, {kind})\n")
            for (server, path), parts in zip(outs.items(), (RASA_PARTS, ACTION_PARTS)):
                busy, counts = summarise(path.read_text() if path.exists() else "", parts)
                print(f"| {server}: part of a turn | share of {busy} samples |\n|---|---|")
                for name, n in sorted(counts.items(), key=lambda kv: -kv[1]):
                    print(f"| {name} | {100 * n / max(busy, 1):.1f} % |")
                print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
