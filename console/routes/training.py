"""Retraining pages and API: jobs (start, progress, log, gate) and model versions (activate, roll back).

Trainers and admins only. Starting a job queues it; the training worker runs it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path as FilePath
from typing import Any, Dict, List, Optional

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from bot.settings import Settings
from bot.staff.sessions import ActiveSession
from bot.training import jobs, registry
from console.deps import MAX_ID, db, require, settings
from console.templating import render

router = APIRouter(tags=["training"])
TRAINERS = require("trainer")



class GateRowOut(BaseModel):
    """One compared metric of the gate (points)."""

    key: str
    label: str
    before: Optional[float]
    after: Optional[float]
    delta: Optional[float]
    limit: str
    ok: bool
    reason: Optional[str]


class GateOut(BaseModel):
    """The gate's verdict."""

    passed: bool
    has_baseline: bool
    reasons: List[str]
    rows: List[GateRowOut]


class JobOut(BaseModel):
    """A training job."""

    id: int
    state: str
    trigger: str
    requested_by: str
    config_name: str
    created_at: dt.datetime
    started_at: Optional[dt.datetime]
    finished_at: Optional[dt.datetime]
    progress: int
    stage: Optional[str]
    log_tail: str
    data_hash: Optional[str]
    error: Optional[str]
    gate: Optional[GateOut]
    model_version_id: Optional[int]


class ModelOut(BaseModel):
    """A model version with its headline metrics."""

    id: int
    file_name: str
    model_hash: str
    rasa_model_id: Optional[str]
    size_bytes: int
    data_hash: Optional[str]
    config_name: Optional[str]
    trained_by: str
    trained_at: dt.datetime
    job_id: Optional[int]
    active: bool
    activated_at: Optional[dt.datetime]
    activated_by: Optional[str]
    gate_passed: Optional[bool]
    note: Optional[str]
    accuracy: Optional[float]
    macro_f1: Optional[float]
    code_precision: Optional[float]
    code_recall: Optional[float]
    per_intent_f1: Dict[str, float]


class ActivateIn(BaseModel):
    """Activate a version; a reason is required to override a blocked gate (admin)."""

    reason: Optional[str] = Field(None, max_length=1000)


def _start(session: Session, staff: ActiveSession, conf: Settings) -> jobs.TrainingJob:
    try:
        return jobs.enqueue(session, staff.username, FilePath(conf.training_config).name)
    except jobs.JobError as exc:
        raise HTTPException(409, str(exc)) from exc


def _activate(session: Session, staff: ActiveSession, version_id: int, reason: Optional[str]) -> registry.ModelVersion:
    try:
        return registry.activate(session, version_id, staff.username, actor_role=staff.role, reason=reason)
    except registry.RegistryError as exc:
        session.rollback()
        raise HTTPException(404 if "Không có phiên bản" in str(exc) else 409, str(exc)) from exc


def _rollback(session: Session, staff: ActiveSession, reason: Optional[str]) -> registry.ModelVersion:
    try:
        return registry.rollback(session, staff.username, actor_role=staff.role, reason=reason)
    except registry.RegistryError as exc:
        session.rollback()
        raise HTTPException(409, str(exc)) from exc


# ---- pages ----

@router.get("/console/training/jobs", include_in_schema=False)
def jobs_page(request: Request, session: Session = Depends(db), staff: ActiveSession = Depends(TRAINERS),
              conf: Settings = Depends(settings)) -> Response:
    """Jobs: start a retrain, the list with states."""
    active = registry.active_version(session)
    return render(request, "training_jobs.html", {"jobs": jobs.list_jobs(session), "open": jobs.open_job(session),
                                                  "active": active, "config_name": FilePath(conf.training_config).name})


@router.post("/console/training/jobs", include_in_schema=False)
def jobs_start(session: Session = Depends(db), staff: ActiveSession = Depends(TRAINERS),
               conf: Settings = Depends(settings)) -> Response:
    """Start a retrain (form) and show its page."""
    job = _start(session, staff, conf)
    return RedirectResponse(f"/console/training/jobs/{job.id}", status_code=303)


@router.get("/console/training/jobs/{job_id}", include_in_schema=False)
def job_page(request: Request, job_id: int = Path(..., ge=1, le=MAX_ID), session: Session = Depends(db),
             staff: ActiveSession = Depends(TRAINERS)) -> Response:
    """One job: progress and log (live), then the gate's table."""
    try:
        job = jobs.get_job(session, job_id)
    except jobs.JobError as exc:
        raise HTTPException(404, str(exc)) from exc
    version = registry.get_version(session, job.model_version_id) if job.model_version_id else None
    return render(request, "training_job.html", {"job": job, "version": version})


@router.get("/console/training/models", include_in_schema=False)
def models_page(request: Request, session: Session = Depends(db), staff: ActiveSession = Depends(TRAINERS)) -> Response:
    """Model versions with their metrics; activate, roll back."""
    versions = [registry.describe(v) for v in registry.list_versions(session)]
    return render(request, "training_models.html", {"versions": versions})


@router.post("/console/training/models/rollback", include_in_schema=False)
def models_rollback(reason: str = Form("", max_length=1000), session: Session = Depends(db),
                    staff: ActiveSession = Depends(TRAINERS)) -> Response:
    """Roll back to the previously active version (form)."""
    _rollback(session, staff, reason)
    return RedirectResponse("/console/training/models", status_code=303)


@router.post("/console/training/models/{version_id}/activate", include_in_schema=False)
def models_activate(version_id: int = Path(..., ge=1, le=MAX_ID), reason: str = Form("", max_length=1000),
                    session: Session = Depends(db), staff: ActiveSession = Depends(TRAINERS)) -> Response:
    """Activate a version (form); blocked versions need an admin and a reason."""
    _activate(session, staff, version_id, reason)
    return RedirectResponse("/console/training/models", status_code=303)


# ---- JSON API ----

@router.get("/console/api/training/jobs", response_model=List[JobOut])
def api_jobs(session: Session = Depends(db), staff: ActiveSession = Depends(TRAINERS)) -> List[Dict[str, Any]]:
    """Training jobs, newest first."""
    return [jobs.describe(job) for job in jobs.list_jobs(session)]


@router.post("/console/api/training/jobs", response_model=JobOut, status_code=201)
def api_start(session: Session = Depends(db), staff: ActiveSession = Depends(TRAINERS),
              conf: Settings = Depends(settings)) -> Dict[str, Any]:
    """Queue a retrain (409 when one is queued or running)."""
    return jobs.describe(_start(session, staff, conf))


@router.get("/console/api/training/jobs/{job_id}", response_model=JobOut)
def api_job(job_id: int = Path(..., ge=1, le=MAX_ID), session: Session = Depends(db),
            staff: ActiveSession = Depends(TRAINERS)) -> Dict[str, Any]:
    """One job: state, progress, log tail, gate."""
    try:
        return jobs.describe(jobs.get_job(session, job_id))
    except jobs.JobError as exc:
        raise HTTPException(404, str(exc)) from exc


@router.get("/console/api/training/models", response_model=List[ModelOut])
def api_models(session: Session = Depends(db), staff: ActiveSession = Depends(TRAINERS)) -> List[Dict[str, Any]]:
    """Model versions, newest first."""
    return [registry.describe(v) for v in registry.list_versions(session)]


@router.post("/console/api/training/models/rollback", response_model=ModelOut)
def api_rollback(body: ActivateIn, session: Session = Depends(db),
                 staff: ActiveSession = Depends(TRAINERS)) -> Dict[str, Any]:
    """Roll back to the previously active version."""
    return registry.describe(_rollback(session, staff, body.reason))


@router.post("/console/api/training/models/{version_id}/activate", response_model=ModelOut)
def api_activate(body: ActivateIn, version_id: int = Path(..., ge=1, le=MAX_ID), session: Session = Depends(db),
                 staff: ActiveSession = Depends(TRAINERS)) -> Dict[str, Any]:
    """Activate a version (a blocked one: admin, with a reason)."""
    return registry.describe(_activate(session, staff, version_id, body.reason))
