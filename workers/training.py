"""``python -m workers.training``: the training worker (one job at a time, however many workers run).

It polls the database for a queued retrain (started from the console, or queued by the
nightly schedule at ``TRAINING_NIGHTLY_HOUR`` when the training data changed since the
active model), claims it, trains with ``TRAINING_CONFIG`` (or ``--config``), evaluates on the
held-out set with ``benchmarks/nlu_eval.py`` (the same code as ``make eval``), and lets the
gate decide whether the candidate becomes the active model. While no version is active, the
first job measures the local model (what ``serve`` loads) and makes it the first version, so the
first candidate is compared with the model in service (``TRAINING_BASELINE_LOCAL``). ``serve``
starts it in development (``SCHEDULER_MODE=embedded``).

    python -m workers.training                 # run until SIGTERM
    python -m workers.training --once          # run the queued job, if any, then exit
    python -m workers.training --enqueue       # queue a retrain (actor "cli") and exit
    python -m workers.training --register PATH [--evaluate] [--activate]   # record an archive (the first model)
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, List, NoReturn, Optional

from bot.settings import ROOT, Settings, get_settings

if TYPE_CHECKING:
    from bot.training.runner import JobSetup

logger = logging.getLogger("workers.training")  # also when run as __main__

NIGHTLY_JOB_ID = "training_nightly"


def train_command(data: Path, out: Path, config: Path) -> List[str]:
    """``rasa train`` (NLU and dialogue: the assistant serves the whole model) into ``out``."""
    settings = get_settings()
    return [sys.executable, "-m", "rasa", "train", "--domain", settings.training_domain_dir, "--config",
            str(config), "--data", str(data), "--out", str(out), "--fixed-model-name", "candidate",
            "--skip-validation"]


def eval_command(model: Path, out_json: Path) -> List[str]:
    """``benchmarks/nlu_eval.py`` (``make eval``) on the held-out set, metrics as JSON."""
    return [sys.executable, "-m", "benchmarks.nlu_eval", "--model", str(model), "--test-set",
            get_settings().training_test_set, "--json", str(out_json)]


def build_setup(settings: Settings, config: Optional[Path] = None) -> "JobSetup":
    """The job setup from settings.

    The data source is the training data store in the database (``nlu/``, as staff curate it in
    the console) with ``rules/`` and ``lookups/`` from ``TRAINING_DATA_DIR``; while the store is
    still empty (a database nobody imported training data into), the whole of ``TRAINING_DATA_DIR``.
    """
    from bot.training.datasource import copy_tree_source, exporter_source
    from bot.training.export import export_nlu
    from bot.training.gate import GateThresholds
    from bot.training.runner import JobSetup
    from bot.training.state import store_is_empty

    source_dir = Path(settings.training_data_dir)
    from_files = copy_tree_source(source_dir)
    from_store = exporter_source(export_nlu, source_dir)

    def data_source(session, directory):  # type: ignore[no-untyped-def]
        return (from_files if store_is_empty(session) else from_store)(session, directory)

    return JobSetup(work_dir=Path(settings.training_work_dir), models_dir=Path(settings.training_models_dir),
                    config=Path(config or settings.training_config).resolve(),
                    data_source=data_source,
                    train_command=train_command, eval_command=eval_command,
                    thresholds=GateThresholds.from_settings(settings),
                    baseline=local_model if settings.training_baseline_local else None)


def local_model() -> Optional[Path]:
    """The archive ``serve`` loads while no version is active (the newest in ``models/``), if any."""
    from bot.cli.train import MODELS

    found = sorted(MODELS.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def run_queued(settings: Settings, setup: "JobSetup", worker: str) -> Optional[str]:
    """Claim and run the oldest queued job; returns its final state, or None when none was claimed."""
    from bot.db.session import get_sessionmaker
    from bot.training.jobs import claim_next
    from bot.training.runner import run_job

    factory = get_sessionmaker(settings.database_url)
    job_id = claim_next(factory, worker, settings.training_lease_seconds)
    if job_id is None:
        return None
    return run_job(factory, job_id, setup, ROOT)


def nightly(settings: Settings, setup: "JobSetup") -> None:
    """Queue the nightly retrain when the data changed (the polling loop then runs it)."""
    from bot.db.session import session_scope
    from bot.training.nightly import enqueue_if_changed

    with session_scope(settings.database_url) as session:
        enqueue_if_changed(session, setup.data_source, setup.config.name)


def _interrupt(signum: int, _frame: object) -> NoReturn:
    raise KeyboardInterrupt(f"signal {signum}")


def run_forever(settings: Settings, setup: "JobSetup") -> None:
    """Poll for queued jobs until SIGINT/SIGTERM; the nightly check runs on an APScheduler cron."""
    from apscheduler.schedulers.background import BackgroundScheduler

    worker = f"{socket.gethostname()}:{os.getpid()}"
    scheduler = BackgroundScheduler(timezone=settings.timezone)
    if settings.training_nightly_hour >= 0:
        scheduler.add_job(nightly, trigger="cron", hour=settings.training_nightly_hour, minute=0,
                          args=[settings, setup], id=NIGHTLY_JOB_ID, name=NIGHTLY_JOB_ID, replace_existing=True,
                          coalesce=True, max_instances=1, misfire_grace_time=3600)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    scheduler.start()
    logger.info("training worker %s polling every %.1f s", worker, settings.training_poll_seconds)
    try:
        while True:
            try:
                state = run_queued(settings, setup, worker)
            except KeyboardInterrupt:
                raise
            except Exception:  # noqa: BLE001 - e.g. the database is down: try again later
                logger.exception("training worker: polling failed")
                state = None
            if state is None:
                time.sleep(settings.training_poll_seconds)
    except KeyboardInterrupt:
        logger.info("training worker stopping")
    finally:
        scheduler.shutdown(wait=False)


def register_archive(settings: Settings, path: Path, activate: bool, evaluate: bool = False) -> int:
    """``--register``: record an existing archive, measured first with ``--evaluate``; optionally activate it."""
    import json
    import subprocess
    import tempfile

    from bot.db.session import session_scope
    from bot.training import registry

    metrics = None
    if evaluate:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "metrics.json"
            if subprocess.call(eval_command(path, out), cwd=ROOT) != 0 or not out.is_file():
                print("evaluation failed", file=sys.stderr)
                return 1
            metrics = json.loads(out.read_text(encoding="utf-8"))
    with session_scope(settings.database_url) as session:
        version = registry.register(session, path, Path(settings.training_models_dir), trained_by="cli",
                                    metrics=metrics)
        if activate and version.active_slot != 1:
            registry.activate(session, version.id, "cli", actor_role="admin", reason="Đăng ký từ dòng lệnh")
        print(f"model version {version.id} ({version.model_hash[:12]}){' active' if activate else ''}")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m workers.training", description=__doc__.splitlines()[0])
    parser.add_argument("--once", action="store_true", help="run the queued job, if any, and exit")
    parser.add_argument("--enqueue", action="store_true", help="queue a retrain and exit")
    parser.add_argument("--config", type=Path, default=None, help="Rasa config to train with (default TRAINING_CONFIG)")
    parser.add_argument("--register", type=Path, default=None, help="record a model archive in the registry")
    parser.add_argument("--activate", action="store_true", help="with --register: make it the active model")
    parser.add_argument("--evaluate", action="store_true",
                        help="with --register: measure it on the held-out set first (the gate's baseline)")
    parser.add_argument("--supervised", action="store_true", help=argparse.SUPPRESS)  # started by bot.cli serve
    args = parser.parse_args(argv)
    settings = get_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.register:
        return register_archive(settings, args.register, args.activate, args.evaluate)
    setup = build_setup(settings, args.config)
    if args.enqueue:
        from bot.db.session import session_scope
        from bot.training.jobs import JobError, enqueue

        try:
            with session_scope(settings.database_url) as session:
                job = enqueue(session, "cli", setup.config.name)
                print(f"training job {job.id} queued")
        except JobError as exc:
            print(str(exc), file=sys.stderr)
            return 1
        return 0
    if args.once:
        state = run_queued(settings, setup, f"{socket.gethostname()}:{os.getpid()}")
        print(state or "no queued job")
        return 0 if state in (None, "passed", "blocked") else 1
    run_forever(settings, setup)
    return 0


if __name__ == "__main__":
    sys.exit(main())
