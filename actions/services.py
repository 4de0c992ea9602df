"""The action server's composition root: the adapters behind the bot/ services the actions call.

This is the only actions module that imports ``integrations``.
"""

from __future__ import annotations

from bot.dossiers.lookup import DossierLookup
from bot.dossiers.sources import DossierSource
from bot.settings import get_settings
from integrations.onestop import make_source


def dossier_source() -> DossierSource:
    """The configured dossier source (``ONESTOP_SOURCE``: the one-stop REST API or the project database)."""
    return make_source(get_settings())


def dossier_lookup() -> DossierLookup:
    """Dossier look-ups on the configured source (created when first needed)."""
    return DossierLookup(dossier_source)
