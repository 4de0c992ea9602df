"""A job from claim to verdict on SQLite and PostgreSQL, with stand-in train/eval commands (real child processes).

The real ``rasa train`` and ``benchmarks/nlu_eval.py`` run in ``tests/console/test_browser_retrain.py``;
here small Python children print what they print (tqdm epochs) and write an archive / metrics, so
the pass, block and failure paths are each checked in seconds.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any, Dict, List

from sqlalchemy import select

from bot.db.models_staff import AuditEntry
from bot.db.models_training import TrainingJob
from bot.db.session import get_sessionmaker, session_scope
from bot.training import jobs, registry
from bot.training.datasource import copy_tree_source
from bot.training.runner import JobSetup, run_job

GOOD = {"accuracy": 0.95, "per_intent_f1": {"ask_fee": 0.9, "ask_duration": 0.9}, "code_precision": 1.0,
        "code_recall": 1.0}
HARMFUL = {"accuracy": 0.90, "per_intent_f1": {"ask_duration": 0.6}, "code_precision": 1.0, "code_recall": 1.0}


def setup_for(tmp_path: Path, metrics: Dict[str, Any], train_exit: int = 0) -> JobSetup:
    """Commands that imitate training (epochs on stdout, an archive) and evaluation (a metrics file)."""
    data = tmp_path / "nlu_data"
    (data / "nlu").mkdir(parents=True, exist_ok=True)
    (data / "nlu" / "a.yml").write_text("version: '3.1'\n", encoding="utf-8")
    config = tmp_path / "config_fast.yml"
    config.write_text("pipeline: []\n", encoding="utf-8")
    metrics_json = json.dumps(metrics)

    def train(data_dir: Path, out: Path, _config: Path) -> List[str]:
        script = ("import sys, pathlib\n"
                  "for p in (0, 50, 100): sys.stdout.write(f'\\rEpochs: {p:3d}%|##| {p}/100'); sys.stdout.flush()\n"
                  "print('\\n\\x1b[93mdone\\x1b[0m')\n"
                  f"pathlib.Path({str(out)!r}, 'candidate.tar.gz').write_bytes(open({str(data_dir / 'nlu' / 'a.yml')!r}, 'rb').read() + {str(tmp_path).encode()!r})\n"
                  f"sys.exit({train_exit})\n")
        return [sys.executable, "-c", script]

    def evaluate(_model: Path, out_json: Path) -> List[str]:
        return [sys.executable, "-c", f"import pathlib; pathlib.Path({str(out_json)!r}).write_text({metrics_json!r})"]

    return JobSetup(work_dir=tmp_path / "work", models_dir=tmp_path / "registry", config=config,
                    data_source=copy_tree_source(data), train_command=train, eval_command=evaluate, heartbeat_s=0.2)


def queue_and_run(db_url: str, setup: JobSetup) -> TrainingJob:
    factory = get_sessionmaker(db_url)
    with session_scope(db_url) as session:
        jobs.enqueue(session, "trainer1", "config_fast.yml")
    job_id = jobs.claim_next(factory, "w")
    assert job_id is not None
    run_job(factory, job_id, setup, Path.cwd())
    with session_scope(db_url) as session:
        return session.get(TrainingJob, job_id)


def test_pass_then_block_then_fail(db_url: str, tmp_path: Path) -> None:
    first = queue_and_run(db_url, setup_for(tmp_path / "a", GOOD))
    assert (first.state, first.progress, first.running_slot) == ("passed", 100, None)
    assert first.gate["passed"] and not first.gate["has_baseline"]
    assert "Epochs: 100%" in first.log_tail and "\x1b" not in first.log_tail
    assert first.log_tail.count("Epochs:") == 1  # one line for the redrawn bar
    with session_scope(db_url) as session:
        active = registry.active_version(session)
        assert active.id == first.model_version_id and active.metrics["accuracy"] == 0.95
        assert active.data_hash == first.data_hash and active.config_name == "config_fast.yml"
        assert active.trained_by == "trainer1" and active.gate_passed is True

    second = queue_and_run(db_url, setup_for(tmp_path / "b", HARMFUL))
    assert second.state == "blocked" and not second.gate["passed"]
    assert any("ask_fee" in reason for reason in second.gate["reasons"])
    with session_scope(db_url) as session:
        assert registry.active_version(session).id == first.model_version_id  # the active model stays
        blocked = session.get(registry.ModelVersion, second.model_version_id)
        assert blocked.gate_passed is False and blocked.active_slot is None
        actions = list(session.execute(select(AuditEntry.action).where(AuditEntry.entity == "model_version"))
                       .scalars())
        assert actions == ["model.activate"]

    third = queue_and_run(db_url, setup_for(tmp_path / "c", GOOD, train_exit=3))
    assert third.state == "failed" and "mã thoát 3" in third.error and third.running_slot is None
    assert not (tmp_path / "c" / "work" / f"job-{third.id}").exists()  # scratch space removed


def test_first_job_measures_the_served_model_as_the_gates_baseline(db_url: str, tmp_path: Path) -> None:
    """No active version: the local model (what the assistant serves) is measured and becomes the first one."""
    local = tmp_path / "shipped.tar.gz"
    local.write_bytes(b"the shipped model")
    plain = setup_for(tmp_path / "a", HARMFUL)

    def evaluate(model: Path, out_json: Path) -> List[str]:
        metrics = json.dumps(GOOD if model == local else HARMFUL)
        return [sys.executable, "-c", f"import pathlib; pathlib.Path({str(out_json)!r}).write_text({metrics!r})"]

    calls: List[int] = []

    def baseline() -> Path:
        calls.append(1)
        return local

    setup = dataclasses.replace(plain, eval_command=evaluate, baseline=baseline)
    first = queue_and_run(db_url, setup)
    assert first.state == "blocked" and first.gate["has_baseline"], first.gate
    assert any("ask_fee" in reason for reason in first.gate["reasons"])
    with session_scope(db_url) as session:
        active = registry.active_version(session)
        assert active.trained_by == "cài sẵn" and active.metrics == GOOD and active.id != first.model_version_id
        assert registry.model_path(tmp_path / "a" / "registry", active).read_bytes() == b"the shipped model"
        actions = list(session.execute(select(AuditEntry.action).where(AuditEntry.entity == "model_version"))
                       .scalars())
        assert actions == ["model.baseline"]
    second = queue_and_run(db_url, setup)  # a version is active now: the local model is not measured again
    assert second.state == "blocked" and len(calls) == 1
