"""Retraining tables: training jobs and model versions (migration 0006_training_models)."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, DateTime, ForeignKey, Integer, String, Text

from bot.db.models import Base, utcnow

JOB_STATES = ("queued", "training", "evaluating", "passed", "blocked", "failed")
"""A job's life: queued → training → evaluating → passed (model active) / blocked (gate) / failed."""
RUNNING_STATES = ("training", "evaluating")
FINAL_STATES = ("passed", "blocked", "failed")


class TrainingJob(Base):
    """One retraining run, claimed by one worker at a time.

    ``running_slot`` is 1 while the job runs and NULL otherwise; its unique index lets only
    one job in the whole database hold the slot, whatever the number of workers.
    """

    __tablename__ = "training_jobs"
    id = Column(Integer, primary_key=True)
    state = Column(String(20), nullable=False, default="queued", index=True)
    trigger = Column(String(20), nullable=False, default="manual")  # manual | nightly
    requested_by = Column(String(64), nullable=False)
    config_name = Column(String(200), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    started_at = Column(DateTime, nullable=True)
    finished_at = Column(DateTime, nullable=True)
    heartbeat_at = Column(DateTime, nullable=True)
    worker = Column(String(120), nullable=True)
    running_slot = Column(Integer, nullable=True, unique=True)
    progress = Column(Integer, nullable=False, default=0)  # percent
    stage = Column(String(200), nullable=True)  # what it does now (Vietnamese)
    log_tail = Column(Text, nullable=True)  # the last lines of the training/evaluation output
    data_hash = Column(String(64), nullable=True)
    metrics = Column(JSON, nullable=True)  # the candidate's evaluation
    gate = Column(JSON, nullable=True)  # the gate's verdict and rows (bot.training.gate)
    error = Column(Text, nullable=True)
    model_version_id = Column(Integer, ForeignKey("model_versions.id", ondelete="SET NULL"), nullable=True)


class ModelVersion(Base):
    """A trained model archive with its metrics; at most one is active (``active_slot`` = 1)."""

    __tablename__ = "model_versions"
    id = Column(Integer, primary_key=True)
    file_name = Column(String(200), nullable=False)  # in TRAINING_MODELS_DIR
    model_hash = Column(String(64), nullable=False, unique=True)  # SHA-256 of the archive: the ETag
    rasa_model_id = Column(String(64), nullable=True)  # Rasa's model_id (metadata.json), shown by /status
    size_bytes = Column(Integer, nullable=False, default=0)
    data_hash = Column(String(64), nullable=True)
    config_name = Column(String(200), nullable=True)
    config_text = Column(Text, nullable=True)
    metrics = Column(JSON, nullable=True)
    gate_passed = Column(Boolean, nullable=True)  # None: registered without a gate (e.g. the first model)
    trained_by = Column(String(64), nullable=False)
    trained_at = Column(DateTime, nullable=False, default=utcnow)
    job_id = Column(Integer, nullable=True)
    active_slot = Column(Integer, nullable=True, unique=True)
    activated_at = Column(DateTime, nullable=True)
    activated_by = Column(String(64), nullable=True)
    note = Column(Text, nullable=True)  # an override's written reason, or a rollback's
