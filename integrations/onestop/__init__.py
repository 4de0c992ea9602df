"""The province's one-stop dossier system: REST client (client.py) and push endpoint (push.py).

:func:`make_source` picks the dossier source: the one-stop REST API when
``ONESTOP_SOURCE=http``, else the project database
(:class:`bot.dossiers.sources.LocalDossierSource`), which the one-stop system fills
through the push endpoint or the ``import-dossiers`` command.
"""

from __future__ import annotations

from typing import Optional

from bot.dossiers.sources import DossierSource, LocalDossierSource
from bot.settings import Settings, get_settings
from integrations.onestop.client import HttpDossierSource


def make_source(settings: Optional[Settings] = None) -> DossierSource:
    """The configured dossier source (``ONESTOP_SOURCE``)."""
    settings = settings or get_settings()
    if settings.onestop_source == "http":
        missing = [n for n in ("onestop_base_url", "onestop_token_url", "onestop_client_id", "onestop_client_secret")
                   if not getattr(settings, n)]
        if missing:
            raise ValueError(f"ONESTOP_SOURCE=http needs {', '.join(m.upper() for m in missing)}")
        return HttpDossierSource(settings.onestop_base_url, settings.onestop_token_url,  # type: ignore[arg-type]
                                 settings.onestop_client_id, settings.onestop_client_secret,  # type: ignore[arg-type]
                                 timeout=settings.onestop_timeout, retries=settings.onestop_retries)
    return LocalDossierSource()
