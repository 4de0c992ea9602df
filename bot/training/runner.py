"""Run one claimed training job: data → ``rasa train`` → evaluation → gate → registry.

Training and evaluation run as child processes (Rasa and TensorFlow never load into the
worker); their output becomes the job's progress and log tail. Commands are handed in, so
``bot/`` imports nothing from Rasa or the benchmarks.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import select
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

from sqlalchemy.orm import sessionmaker

from bot.cli.processes import spawn, stop
from bot.db.models import utcnow
from bot.training import jobs, registry
from bot.training.datasource import DataSource
from bot.training.gate import GateThresholds, check_gate
from bot.training.state import settle_after_training

logger = logging.getLogger(__name__)

EPOCHS = re.compile(r"Epochs:\s+(\d{1,3})%")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
TrainCommand = Callable[[Path, Path, Path], List[str]]  # (data dir, output dir, config) -> argv
EvalCommand = Callable[[Path, Path], List[str]]  # (model archive, JSON output) -> argv


class StepFailed(Exception):
    """A step of the job failed (message in Vietnamese, stored on the job)."""


@dataclass(frozen=True)
class JobSetup:
    """What a job needs besides its row: folders, the config, the commands, the gate."""

    work_dir: Path
    models_dir: Path
    config: Path
    data_source: DataSource
    train_command: TrainCommand
    eval_command: EvalCommand
    thresholds: GateThresholds = GateThresholds()
    heartbeat_s: float = 2.0
    baseline: Optional[Callable[[], Optional[Path]]] = None  # the model served while no version is active


class OutputFollower:
    """Reads a child's output, keeps the last lines and reports progress at most every few seconds."""

    def __init__(self, factory: sessionmaker, job_id: int, span: tuple, heartbeat_s: float,
                 tail: List[str]) -> None:
        """Follow output of job ``job_id``; epoch percentages map into ``span`` (start, end) percent."""
        self.factory, self.job_id, self.span, self.heartbeat_s, self.tail = factory, job_id, span, heartbeat_s, tail
        self.progress: Optional[int] = None
        self._last = 0.0

    def feed(self, text: str) -> None:
        """Take a chunk of output (lines end in \\n or \\r: tqdm redraws its bar with \\r)."""
        for line in re.split(r"[\r\n]+", ANSI.sub("", text)):
            line = line.strip()
            if not line:
                continue
            match = EPOCHS.search(line)
            if match:
                start, end = self.span
                self.progress = start + (end - start) * min(100, int(match.group(1))) // 100
                if self.tail and self.tail[-1].startswith("Epochs:"):
                    self.tail[-1] = line  # one line for the bar, not one per redraw
                    continue
            self.tail.append(line)
        del self.tail[:-jobs.LOG_TAIL_LINES]
        self.flush()

    def flush(self, force: bool = False) -> None:
        """Report progress and the tail (heartbeat) if due."""
        if force or time.monotonic() - self._last >= self.heartbeat_s:
            self._last = time.monotonic()
            jobs.report(self.factory, self.job_id, progress=self.progress, log_tail=self.tail)


def run_child(argv: List[str], follower: OutputFollower, cwd: Path, env: Optional[Dict[str, str]] = None) -> int:
    """Run ``argv``, feeding its output to ``follower``; returns the exit code (the child is stopped on interrupt)."""
    proc = spawn(argv, cwd=cwd, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                 stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    try:
        fd = proc.stdout.fileno()
        while True:
            if not select.select([fd], [], [], follower.heartbeat_s)[0]:
                follower.flush()  # quiet child: still a heartbeat
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            follower.feed(chunk.decode("utf-8", errors="replace"))
        return proc.wait()
    finally:
        if proc.poll() is None:
            stop(proc, timeout=10)
        proc.stdout.close()
        follower.flush(force=True)


def run_job(factory: sessionmaker, job_id: int, setup: JobSetup, cwd: Path) -> str:
    """Train, evaluate and gate job ``job_id`` (already claimed); returns its final state.

    A passing candidate becomes the active model; a blocked one is registered inactive (an
    admin may override); any failure ends the job as ``failed`` with the reason.
    """
    work = setup.work_dir / f"job-{job_id}"
    tail: List[str] = []
    try:
        shutil.rmtree(work, ignore_errors=True)
        (work / "out").mkdir(parents=True)
        with factory() as session:
            job = jobs.get_job(session, job_id)
            actor = job.requested_by
            snapshot_at = utcnow()
            data_hash = setup.data_source(session, work / "data")
            session.commit()
        jobs.report(factory, job_id, progress=5, stage="Đang huấn luyện mô hình", data_hash=data_hash,
                    log_tail=tail)
        follower = OutputFollower(factory, job_id, (10, 75), setup.heartbeat_s, tail)
        code = run_child(setup.train_command(work / "data", work / "out", setup.config), follower, cwd)
        archives = sorted((work / "out").glob("*.tar.gz"))
        if code != 0 or not archives:
            raise StepFailed(f"Huấn luyện thất bại (mã thoát {code}). Xem nhật ký bên dưới.")
        jobs.report(factory, job_id, state="evaluating", progress=80,
                    stage="Đang đánh giá trên tập kiểm thử giữ riêng", log_tail=tail)
        metrics_file = work / "metrics.json"
        follower = OutputFollower(factory, job_id, (80, 95), setup.heartbeat_s, tail)
        code = run_child(setup.eval_command(archives[-1], metrics_file), follower, cwd)
        if code != 0 or not metrics_file.is_file():
            raise StepFailed(f"Đánh giá thất bại (mã thoát {code}). Xem nhật ký bên dưới.")
        metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
        _ensure_baseline(factory, job_id, setup, work, cwd, tail)
        return _decide(factory, job_id, setup, archives[-1], metrics, (data_hash, snapshot_at), actor, tail)
    except StepFailed as exc:
        logger.error("training job %s failed: %s", job_id, exc)
        jobs.finish(factory, job_id, "failed", error=str(exc), stage="Thất bại", log_tail=tail)
        return "failed"
    except (KeyboardInterrupt, SystemExit):
        jobs.finish(factory, job_id, "failed", error="Máy huấn luyện bị dừng giữa chừng.", stage="Thất bại",
                    log_tail=tail)
        raise
    except Exception:  # noqa: BLE001 - any other fault fails the job, never the worker
        logger.exception("training job %s failed", job_id)
        jobs.finish(factory, job_id, "failed", error="Lỗi không mong đợi khi huấn luyện; xem nhật ký máy chủ.",
                    stage="Thất bại", log_tail=tail)
        return "failed"
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _ensure_baseline(factory: sessionmaker, job_id: int, setup: JobSetup, work: Path, cwd: Path,
                     tail: List[str]) -> None:
    """No active version yet: measure the model the assistant serves (the local one) and make it the first.

    Without it the first candidate would face only the absolute rules, and a harmful first retrain
    would replace a good model. Measured once, with the same evaluation as the candidate.
    """
    with factory() as session:
        if registry.active_version(session) is not None:
            return
    local = setup.baseline() if setup.baseline is not None else None
    if local is None or not local.is_file():
        return
    jobs.report(factory, job_id, progress=95, stage="Đang đánh giá mô hình đang phục vụ (mức so sánh đầu tiên)",
                log_tail=tail)
    out = work / "baseline-metrics.json"
    code = run_child(setup.eval_command(local, out), OutputFollower(factory, job_id, (95, 98), setup.heartbeat_s,
                                                                    tail), cwd)
    if code != 0 or not out.is_file():
        raise StepFailed(f"Không đánh giá được mô hình đang phục vụ để so sánh (mã thoát {code}).")
    metrics = json.loads(out.read_text(encoding="utf-8"))
    with factory() as session:
        if registry.active_version(session) is not None:
            return  # someone activated a version meanwhile: compare with that one
        version = registry.register(session, local, setup.models_dir, trained_by="cài sẵn", metrics=metrics)
        version.metrics = version.metrics or metrics
        registry.activate(session, version.id, "cài sẵn", actor_role="admin", action="model.baseline",
                          reason="Mô hình đang phục vụ, đo trên tập kiểm thử: mức so sánh đầu tiên của cổng đánh giá")
        session.commit()
    logger.info("training job %s: the local model became version %s (the gate's first baseline)", job_id,
                version.id)


def _decide(factory: sessionmaker, job_id: int, setup: JobSetup, archive: Path, metrics: Dict,
            data: Tuple[str, dt.datetime], actor: str, tail: List[str]) -> str:
    """Gate the candidate against the active model, register it, activate it if it passed.

    ``data`` is the training data's hash and the time it was read (the "changed" flags are
    cleared on activation unless staff changed something after that time).
    """
    data_hash, snapshot_at = data
    with factory() as session:
        active = registry.active_version(session)
        verdict = check_gate(metrics, active.metrics if active is not None else None, setup.thresholds)
        version = registry.register(session, archive, setup.models_dir, trained_by=actor, metrics=metrics,
                                    data_hash=data_hash, config_name=setup.config.name,
                                    config_text=setup.config.read_text(encoding="utf-8"), job_id=job_id,
                                    gate_passed=verdict.passed)
        if verdict.passed and version.active_slot != 1:
            registry.activate(session, version.id, actor, actor_role="trainer",
                              reason=f"Qua cổng đánh giá (lượt huấn luyện #{job_id})")
            settle_after_training(session, snapshot_at, actor)
        session.commit()
        version_id = version.id
    state = "passed" if verdict.passed else "blocked"
    stage = "Đã qua cổng đánh giá; mô hình mới đang được dùng" if verdict.passed else \
        "Bị cổng đánh giá chặn; mô hình đang dùng được giữ nguyên"
    jobs.finish(factory, job_id, state, metrics=metrics, gate=verdict.as_dict(), model_version_id=version_id,
                stage=stage, log_tail=tail)
    logger.info("training job %s %s (model version %s)", job_id, state, version_id)
    return state
