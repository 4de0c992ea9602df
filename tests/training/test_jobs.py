"""Training jobs on SQLite and PostgreSQL: one job at a time, whatever the number of workers."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import List, Optional

import pytest
from sqlalchemy import select

from bot.db.models import utcnow
from bot.db.models_staff import AuditEntry
from bot.db.models_training import TrainingJob
from bot.db.session import get_sessionmaker, session_scope
from bot.settings import ROOT
from bot.training import jobs, nightly, registry
from bot.training.datasource import copy_tree_source, hash_tree


def claim_together(url: str, workers: int) -> List[Optional[int]]:
    """``workers`` threads (own sessions, own connections) claim at the same moment."""
    barrier = threading.Barrier(workers)
    results: List[Optional[int]] = [None] * workers

    def work(i: int) -> None:
        factory = get_sessionmaker(url)
        barrier.wait()
        results[i] = jobs.claim_next(factory, f"worker-{i}")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_two_workers_one_job(db_url: str) -> None:
    with session_scope(db_url) as session:
        job_id = jobs.enqueue(session, "trainer1", "config.yml").id
    results = claim_together(db_url, 2)
    assert results.count(job_id) == 1 and results.count(None) == 1
    with session_scope(db_url) as session:
        job = session.get(TrainingJob, job_id)
        assert (job.state, job.running_slot, job.progress) == ("training", 1, 1)
        assert job.worker in {"worker-0", "worker-1"}
    assert jobs.claim_next(get_sessionmaker(db_url), "late") is None


def test_only_one_job_runs_even_with_two_queued(db_url: str) -> None:
    """Two queued jobs (e.g. inserted by two consoles at once) and two workers: the slot admits one."""
    with session_scope(db_url) as session:
        session.add_all([TrainingJob(requested_by="a", config_name="c"), TrainingJob(requested_by="b", config_name="c")])
    results = claim_together(db_url, 2)
    assert len([r for r in results if r is not None]) == 1
    with session_scope(db_url) as session:
        states = sorted(session.execute(select(TrainingJob.state)).scalars())
    assert states == ["queued", "training"]
    factory = get_sessionmaker(db_url)
    jobs.finish(factory, next(r for r in results if r), "passed")
    assert jobs.claim_next(factory, "next") is not None  # the slot is free again


def test_enqueue_refuses_a_second_open_job_and_audits(db_url: str) -> None:
    with session_scope(db_url) as session:
        job = jobs.enqueue(session, "trainer1", "config.yml")
        with pytest.raises(jobs.JobError, match=f"#{job.id}"):
            jobs.enqueue(session, "admin1", "config.yml")
        entry = session.execute(select(AuditEntry).where(AuditEntry.action == "training.start")).scalar_one()
        assert (entry.actor, entry.entity_id) == ("trainer1", str(job.id))


def test_dead_worker_job_fails_and_frees_the_slot(db_url: str) -> None:
    factory = get_sessionmaker(db_url)
    with session_scope(db_url) as session:
        first = jobs.enqueue(session, "trainer1", "config.yml").id
    assert jobs.claim_next(factory, "w1") == first
    jobs.report(factory, first, progress=40, stage="x", log_tail=["a"] * 500)
    with session_scope(db_url) as session:
        job = session.get(TrainingJob, first)
        assert job.log_tail.count("\n") == jobs.LOG_TAIL_LINES - 1
        session.add(TrainingJob(requested_by="trainer1", config_name="config.yml"))
    assert jobs.claim_next(factory, "w2", lease_seconds=900) is None  # the first still runs
    later = utcnow() + dt.timedelta(seconds=901)
    second = jobs.claim_next(factory, "w2", lease_seconds=900, now=later)
    assert second is not None and second != first
    with session_scope(db_url) as session:
        dead = session.get(TrainingJob, first)
        assert dead.state == "failed" and dead.running_slot is None and "ngừng" in dead.error


def test_nightly_queues_only_when_the_data_changed(db_url: str, tmp_path: Path) -> None:
    source_dir = tmp_path / "nlu_data"
    (source_dir / "nlu").mkdir(parents=True)
    (source_dir / "nlu" / "a.yml").write_text("version: '3.1'\nnlu: []\n", encoding="utf-8")
    source = copy_tree_source(source_dir)
    archive = tmp_path / "m.tar.gz"
    archive.write_bytes(b"not really a model")
    with session_scope(db_url) as session:
        assert nightly.data_changed(session, source)  # no active model
        data_hash = source(session, tmp_path / "copy")
        assert data_hash == hash_tree(tmp_path / "copy")
        version = registry.register(session, archive, tmp_path / "registry", trained_by="t", data_hash=data_hash)
        registry.activate(session, version.id, "t", actor_role="trainer")
    with session_scope(db_url) as session:
        assert nightly.enqueue_if_changed(session, source, "config.yml") is None
    (source_dir / "nlu" / "a.yml").write_text("version: '3.1'\nnlu: [] # changed\n", encoding="utf-8")
    with session_scope(db_url) as session:
        job = nightly.enqueue_if_changed(session, source, "config.yml")
        assert job is not None and job.trigger == "nightly" and job.requested_by == nightly.NIGHTLY_ACTOR
        assert nightly.enqueue_if_changed(session, source, "config.yml") is None  # one is queued already


def test_data_store_flag_decides_when_present(db_url: str, tmp_path: Path) -> None:
    from bot.training.importer import import_nlu
    from bot.training.state import clear_changed, mark_changed

    source = copy_tree_source(tmp_path / "empty")
    with session_scope(db_url) as session:
        import_nlu(session, ROOT / "nlu_data" / "nlu", "test")
        clear_changed(session)
    with session_scope(db_url) as session:
        assert nightly.data_changed(session, source) is False  # no active model, but the store says unchanged
        mark_changed(session, "trainer1", "training.example.add")
        assert nightly.data_changed(session, source) is True


def test_exporter_source_takes_nlu_from_the_store(db_url: str, tmp_path: Path) -> None:
    from bot.training.datasource import exporter_source

    repo = tmp_path / "nlu_data"
    for part in ("nlu", "rules", "lookups"):
        (repo / part).mkdir(parents=True)
        (repo / part / f"{part}.yml").write_text(f"# {part} from the repository\n", encoding="utf-8")

    def export_nlu(_session, directory: Path) -> str:  # type: ignore[no-untyped-def]
        (directory / "exported.yml").write_text("# nlu from the database\n", encoding="utf-8")
        return "x"

    with session_scope(db_url) as session:
        digest = exporter_source(export_nlu, repo)(session, tmp_path / "job")
    files = sorted(p.relative_to(tmp_path / "job").as_posix() for p in (tmp_path / "job").rglob("*.yml"))
    assert files == ["lookups/lookups.yml", "nlu/exported.yml", "rules/rules.yml"]
    assert digest == hash_tree(tmp_path / "job")
