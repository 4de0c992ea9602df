"""The nightly retrain: queue a job only when the training data changed since the active model."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Optional

from sqlalchemy.orm import Session

from bot.db.models_training import TrainingJob
from bot.training import jobs, registry
from bot.training.datasource import DataSource, data_changed_flag

logger = logging.getLogger(__name__)
NIGHTLY_ACTOR = "lich-dem"  # the audit log's actor for scheduled retrains


def data_changed(session: Session, data_source: DataSource) -> bool:
    """Whether the data differs from what the active model was trained on.

    The data store's "changed" flag decides when present; otherwise the data's hash is
    compared with the active version's (no active model: changed).
    """
    flag = data_changed_flag(session)
    if flag is not None:
        return flag
    active = registry.active_version(session)
    if active is None or not active.data_hash:
        return True
    with tempfile.TemporaryDirectory() as tmp:
        return data_source(session, Path(tmp) / "data") != active.data_hash


def enqueue_if_changed(session: Session, data_source: DataSource, config_name: str) -> Optional[TrainingJob]:
    """Queue the nightly retrain if the data changed and no job is queued or running; else None."""
    if jobs.open_job(session) is not None:
        logger.info("nightly retrain skipped: a job is already queued or running")
        return None
    if not data_changed(session, data_source):
        logger.info("nightly retrain skipped: training data unchanged since the active model")
        return None
    job = jobs.enqueue(session, NIGHTLY_ACTOR, config_name, trigger="nightly")
    logger.info("nightly retrain queued as job %s", job.id)
    return job
