"""Rasa-side: start with the local model when the model server gives none (imported in Rasa's process).

With ``models: url`` in endpoints.yml Rasa 3.6 ignores ``--model``: ``load_agent`` pulls from
the server once and schedules a pull every ``wait_time_between_pulls`` seconds; if that first
pull fails (console down, 404 because no model is active yet, a 403), the agent has no model
and answers nothing until a later pull succeeds. :func:`install` wraps Rasa's
``load_from_server`` so that, in that case, the local ``--model`` archive is loaded, with
the same fingerprint the console would give it (its SHA-256 as an ETag): the next pull then
gets 304 if the console's active model is that very archive, or the active model otherwise.
"""

from __future__ import annotations

import hashlib
import logging
import sys
from pathlib import Path
from typing import Any, List, Optional

logger = logging.getLogger(__name__)


def archive_etag(path: Path) -> str:
    """The ETag the console gives this archive: its SHA-256, quoted."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return f'"{digest.hexdigest()}"'


def model_argument(argv: List[str]) -> Optional[Path]:
    """The ``--model``/``-m`` path of a ``rasa run`` command line, if it names a file."""
    for i, arg in enumerate(argv):
        value = None
        if arg in ("--model", "-m") and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith("--model="):
            value = arg.split("=", 1)[1]
        if value and Path(value).is_file():
            return Path(value)
    return None


def install(local_model: Optional[Path] = None) -> None:
    """Wrap ``rasa.core.agent.load_from_server`` with the local-model fallback (idempotent)."""
    from rasa.core import agent as rasa_agent

    original = rasa_agent.load_from_server
    if getattr(original, "_local_fallback", False):
        return
    local = local_model or model_argument(sys.argv)

    async def load_from_server_or_local(agent: Any, model_server: Any) -> Any:
        agent = await original(agent, model_server)
        if not agent.is_ready() and local is not None:
            logger.warning("model server gave no model; starting with the local model %s", local.name)
            agent.load_model(str(local), archive_etag(local))
        return agent

    load_from_server_or_local._local_fallback = True  # type: ignore[attr-defined]
    rasa_agent.load_from_server = load_from_server_or_local
