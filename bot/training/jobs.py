"""Training jobs in the database: queue one, claim it (one job at a time, any number of workers), report.

The claim is a conditional UPDATE that also takes ``running_slot = 1``; the column's unique
index lets only one job hold it, so two workers (or two processes racing) never train at once.
A worker that dies leaves a job whose heartbeat stops; the next claim fails it and frees the slot.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Dict, List, Optional

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.db.models import utcnow
from bot.db.models_training import FINAL_STATES, RUNNING_STATES, TrainingJob
from bot.db.rows import get_or_raise, newest
from bot.staff.audit import record

logger = logging.getLogger(__name__)
LOG_TAIL_LINES = 80
LOG_LINE_CHARS = 300


class JobError(Exception):
    """A job request that cannot be done (message in Vietnamese, shown to staff)."""


def open_job(session: Session) -> Optional[TrainingJob]:
    """The queued or running job, if any."""
    query = select(TrainingJob).where(TrainingJob.state.in_(("queued", *RUNNING_STATES)))
    return session.execute(query.order_by(TrainingJob.id).limit(1)).scalar_one_or_none()


def enqueue(session: Session, actor: str, config_name: str, trigger: str = "manual") -> TrainingJob:
    """Queue a retrain (audited).

    Raises:
        JobError: a job is already queued or running.
    """
    busy = open_job(session)
    if busy is not None:
        raise JobError(f"Đã có lượt huấn luyện #{busy.id} đang chờ hoặc đang chạy.")
    job = TrainingJob(state="queued", trigger=trigger, requested_by=actor, config_name=config_name[:200],
                      stage="Đang chờ máy huấn luyện")
    session.add(job)
    session.flush()
    record(session, actor, "training.start", "training_job", str(job.id), None,
           {"trigger": trigger, "config": job.config_name})
    return job


def expire_stale(session: Session, lease_seconds: int, now: Optional[dt.datetime] = None) -> List[int]:
    """Fail running jobs whose heartbeat stopped ``lease_seconds`` ago (their worker died); frees the slot."""
    limit = (now or utcnow()) - dt.timedelta(seconds=lease_seconds)
    stale = list(session.execute(select(TrainingJob.id).where(
        TrainingJob.state.in_(RUNNING_STATES), TrainingJob.heartbeat_at < limit)).scalars())
    for job_id in stale:
        session.execute(update(TrainingJob).where(TrainingJob.id == job_id, TrainingJob.state.in_(RUNNING_STATES))
                        .values(state="failed", running_slot=None, finished_at=now or utcnow(),
                                error="Máy huấn luyện ngừng giữa chừng (mất tín hiệu)."))
        logger.warning("training job %s failed: its worker stopped sending heartbeats", job_id)
    return stale


def claim_next(factory: sessionmaker, worker: str, lease_seconds: int = 900,
               now: Optional[dt.datetime] = None) -> Optional[int]:
    """Claim the oldest queued job for ``worker``; returns its id, or None (nothing queued, or one runs)."""
    now = now or utcnow()
    with factory() as session:
        expire_stale(session, lease_seconds, now)
        session.commit()
        job_id = session.execute(select(TrainingJob.id).where(TrainingJob.state == "queued")
                                 .order_by(TrainingJob.id).limit(1)).scalar_one_or_none()
        if job_id is None:
            return None
        try:
            claimed = session.execute(
                update(TrainingJob).where(TrainingJob.id == job_id, TrainingJob.state == "queued")
                .values(state="training", running_slot=1, worker=worker[:120], started_at=now, heartbeat_at=now,
                        progress=1, stage="Chuẩn bị dữ liệu huấn luyện")).rowcount
            session.commit()
        except IntegrityError:
            session.rollback()  # another job holds the running slot
            return None
    if claimed != 1:
        return None
    logger.info("training job %s claimed by %s", job_id, worker)
    return job_id


def report(factory: sessionmaker, job_id: int, *, state: Optional[str] = None, progress: Optional[int] = None,
           stage: Optional[str] = None, log_tail: Optional[List[str]] = None, **values: Any) -> None:
    """Store a running job's progress, stage, log tail (and other columns); refreshes its heartbeat."""
    changes: Dict[str, Any] = {"heartbeat_at": utcnow(), **values}
    if state is not None:
        changes["state"] = state
    if progress is not None:
        changes["progress"] = max(0, min(100, int(progress)))
    if stage is not None:
        changes["stage"] = stage[:200]
    if log_tail is not None:
        changes["log_tail"] = "\n".join(line[:LOG_LINE_CHARS] for line in log_tail[-LOG_TAIL_LINES:])
    with factory() as session:
        session.execute(update(TrainingJob).where(TrainingJob.id == job_id).values(**changes))
        session.commit()


def finish(factory: sessionmaker, job_id: int, state: str, **values: Any) -> None:
    """End a job in a final state and free the running slot."""
    assert state in FINAL_STATES, state
    report(factory, job_id, state=state, running_slot=None, finished_at=utcnow(),
           progress=100 if state != "failed" else None, **values)


def get_job(session: Session, job_id: int) -> TrainingJob:
    """One job.

    Raises:
        JobError: unknown id.
    """
    return get_or_raise(session, TrainingJob, job_id, JobError("Không có lượt huấn luyện này."))


def list_jobs(session: Session, limit: int = 50) -> List[TrainingJob]:
    """Jobs, newest first (at most 200)."""
    return newest(session, TrainingJob, limit, 200)


def describe(job: TrainingJob) -> Dict[str, Any]:
    """A job as JSON-ready data (API and the page's polling)."""
    return {"id": job.id, "state": job.state, "trigger": job.trigger, "requested_by": job.requested_by,
            "config_name": job.config_name, "created_at": job.created_at, "started_at": job.started_at,
            "finished_at": job.finished_at, "progress": job.progress, "stage": job.stage,
            "log_tail": job.log_tail or "", "data_hash": job.data_hash, "error": job.error, "gate": job.gate,
            "model_version_id": job.model_version_id}
