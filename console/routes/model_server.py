"""Rasa's model server protocol: ``GET`` the active model (``models: url`` in Rasa's endpoints.yml).

The answer is the active archive with ``ETag`` = its SHA-256 (quoted); a request whose
``If-None-Match`` carries that ETag gets 304, so a Rasa replica downloads a model once and
loads a new one only when staff activate another. No active model: 404 (Rasa keeps the
model it has). Protection: with ``MODEL_SERVER_TOKEN`` set, the request must carry
``Authorization: Bearer <token>``; without one, only loopback clients are answered, and
outside development never (set a token there).
"""

from __future__ import annotations

import hmac
import logging
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from sqlalchemy.orm import Session

from bot.settings import Settings
from bot.training.registry import active_version, etag, model_path
from console.deps import db, settings

logger = logging.getLogger(__name__)
router = APIRouter()
LOOPBACK = {"127.0.0.1", "::1", "localhost"}
MODEL_ROUTE = "/console/model-server/model.tar.gz"


def allowed(request: Request, conf: Settings) -> bool:
    """Whether this client may pull models (bearer token, or loopback in development without one)."""
    if conf.model_server_token:
        sent = request.headers.get("authorization", "")
        expected = f"Bearer {conf.model_server_token}"
        return hmac.compare_digest(sent.encode("utf-8"), expected.encode("utf-8"))
    return conf.is_development and request.client is not None and request.client.host in LOOPBACK


def _matches(header: str, tag: str) -> bool:
    """``If-None-Match`` holds ``tag`` (weak or strong, quoted or not, or ``*``)."""
    wanted = tag.strip('"')
    for part in header.split(","):
        part = part.strip()
        if part == "*" or part.removeprefix("W/").strip('"') == wanted:
            return True
    return False


@router.get(MODEL_ROUTE, include_in_schema=False)
def active_model(request: Request, session: Session = Depends(db), conf: Settings = Depends(settings)) -> Response:
    """The active model archive for Rasa (ETag / 304), or 404 when none is active."""
    if not allowed(request, conf):
        return JSONResponse({"detail": "Không được phép tải mô hình."}, status_code=403)
    version = active_version(session)
    if version is None:
        return JSONResponse({"detail": "Chưa có mô hình đang dùng."}, status_code=404)
    tag = etag(version.model_hash)
    if _matches(request.headers.get("if-none-match", ""), tag):
        return Response(status_code=304, headers={"ETag": tag})
    path = model_path(Path(conf.training_models_dir), version)
    if not path.is_file():
        logger.error("active model version %s: archive missing in the registry folder", version.id)
        return JSONResponse({"detail": "Tệp mô hình đang dùng không còn trên máy chủ."}, status_code=404)
    return FileResponse(path, media_type="application/gzip",
                        headers={"ETag": tag, "filename": f"model-{version.id}.tar.gz"})
