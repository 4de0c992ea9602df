"""Render domain responses (``utter_…``) outside Rasa, for pushed reminders.

Bot text lives in the Rasa domain; the reminder service has no tracker, so it
reads the responses from the domain YAML files and fills ``{variable}``
placeholders the way Rasa does (unknown placeholders are left as they are).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

import yaml

from bot.settings import ROOT

logger = logging.getLogger(__name__)

_PLACEHOLDER = re.compile(r"{([^\n{}]+?)}")


def domain_files(root: Path = ROOT) -> List[Path]:
    """The domain files of the project: ``domain.yml`` and every ``domain/*.yml``."""
    files = sorted((root / "domain").glob("*.yml")) + sorted((root / "domain").glob("*.yaml"))
    single = root / "domain.yml"
    if single.exists():
        files.insert(0, single)
    return files


class ResponseRenderer:
    """Look up a response by name and fill its placeholders."""

    def __init__(self, responses: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
        """Build from a ``responses`` mapping as found in a domain."""
        self._responses = dict(responses)

    @classmethod
    def from_files(cls, files: Optional[Iterable[Path]] = None) -> ResponseRenderer:
        """Load the ``responses`` of every domain file (later files override earlier ones)."""
        responses: Dict[str, Sequence[Mapping[str, Any]]] = {}
        for path in files if files is not None else domain_files():
            content = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
            responses.update(content.get("responses") or {})
        return cls(responses)

    def has(self, name: str) -> bool:
        """True when the domain defines the response ``name``."""
        return bool(self._responses.get(name))

    def render(self, name: str, variables: Mapping[str, Any], channel: Optional[str] = None) -> str:
        """The text of response ``name`` for ``channel`` with ``variables`` filled in.

        Raises:
            KeyError: the domain has no such response (or it has no text).
        """
        variants = self._responses.get(name) or []
        chosen = _pick(variants, channel)
        if chosen is None:
            raise KeyError(f"response {name!r} has no text variant")
        return fill(str(chosen["text"]), variables)


def _pick(variants: Sequence[Mapping[str, Any]], channel: Optional[str]) -> Optional[Mapping[str, Any]]:
    with_text = [v for v in variants if v.get("text")]
    if channel:
        for variant in with_text:
            if variant.get("channel") == channel:
                return variant
    for variant in with_text:
        if not variant.get("channel"):
            return variant
    return with_text[0] if with_text else None


def fill(template: str, variables: Mapping[str, Any]) -> str:
    """Replace ``{name}`` by ``variables[name]``; unknown names stay as written (like Rasa)."""

    def replace(match: re.Match) -> str:
        key = match.group(1)
        if key in variables and variables[key] is not None:
            return str(variables[key])
        logger.warning("response placeholder {%s} has no value", key)
        return match.group(0)

    return _PLACEHOLDER.sub(replace, template)
