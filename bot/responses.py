"""The one renderer of domain responses (``utter_…``): actions, reminders, channels.

Bot text lives in the Rasa domain. Code outside Rasa's NLG (actions building list
lines, the reminder worker, channel notices sent before Rasa sees a message)
renders it here: pick the variant for the channel, fill ``{name}`` placeholders
the way Rasa does.

* :meth:`Responses.render` — strict: unknown response → ``KeyError``; an unknown
  placeholder stays as written (like Rasa) and is logged.
* :meth:`Responses.fragment` — lenient, for text fragments used to build lines:
  unknown response → ``""`` (logged), missing values render empty.
* :meth:`Responses.message` — a whole message (``text`` + ``buttons``) ready for
  an output channel, or None.

With ``live=True`` staff edits made in the console (:mod:`bot.texts`) lie over the domain's
wording; they are read through a cache checked against the texts version row on every use,
so a reworded answer applies to the next message without a restart.
"""

from __future__ import annotations

import functools
import logging
import re
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence

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


class Responses:
    """Look up a response by name, pick its variant for a channel and fill its placeholders."""

    def __init__(self, responses: Mapping[str, Sequence[Mapping[str, Any]]],
                 overlay: Optional[Callable[[], Mapping[str, Any]]] = None) -> None:
        """Build from a ``responses`` mapping as found in a domain.

        Args:
            responses: name → variations.
            overlay: returns the current staff overrides (:data:`bot.texts.overlay.Overrides`), or None.
        """
        self._responses = dict(responses)
        self._overlay = overlay

    @classmethod
    def of(cls, domain: Mapping[str, Any], live: bool = False) -> Responses:
        """The responses of a domain dict (as rasa-sdk hands it to an action); ``live``: with staff edits."""
        return cls((domain or {}).get("responses") or {}, live_overlay() if live else None)

    @classmethod
    def from_files(cls, files: Optional[Iterable[Path]] = None, live: bool = False,
                   database_url: Optional[str] = None) -> Responses:
        """Load the ``responses`` of every domain file (later files override earlier ones).

        Args:
            files: the domain files (default: the project's).
            live: lay the staff edits of ``database_url`` (default: ``DATABASE_URL``) over them.
            database_url: where the staff edits are.
        """
        responses: Dict[str, Sequence[Mapping[str, Any]]] = {}
        for path in files if files is not None else domain_files():
            content = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
            responses.update(content.get("responses") or {})
        return cls(responses, live_overlay(database_url) if live else None)

    def variations(self, name: str) -> List[Dict[str, Any]]:
        """The variations of ``name`` as they are now (staff edits applied when live)."""
        base = self._responses.get(name) or []
        if self._overlay is None:
            return [dict(v) for v in base]
        from bot.texts.overlay import apply_overrides

        return apply_overrides(base, self._overlay().get(name))

    def has(self, name: str) -> bool:
        """True when the domain defines the response ``name``."""
        return bool(self._responses.get(name))

    def render(self, name: str, variables: Mapping[str, Any], channel: Optional[str] = None) -> str:
        """The text of response ``name`` for ``channel`` with ``variables`` filled in.

        Raises:
            KeyError: the domain has no such response (or it has no text).
        """
        chosen = self._variant(name, channel)
        if chosen is None:
            raise KeyError(f"response {name!r} has no text variant")
        return fill(str(chosen["text"]), variables)

    def fragment(self, name: str, /, **values: Any) -> str:
        """The first text of ``name`` with ``values`` (missing ones empty); ``""`` when absent (logged)."""
        every = self.variations(name)
        variants = [v for v in every if not v.get("channel")] or every
        template = variants[0].get("text", "") if variants else ""
        if not template:
            logger.error("missing domain fragment %s", name)
            return ""
        return template.format_map(defaultdict(str, {k: "" if v is None else v for k, v in values.items()}))

    def message(self, name: str, channel: Optional[str] = None, **values: Any) -> Optional[Dict[str, Any]]:
        """``{"text": ..., "buttons": [...]}`` of ``name`` for ``channel``, or None (logged) when absent."""
        chosen = self._variant(name, channel)
        if chosen is None:
            logger.error("response %s is missing from the domain", name)
            return None
        message: Dict[str, Any] = {"text": fill(str(chosen["text"]), values)}
        if chosen.get("buttons"):
            message["buttons"] = [dict(button) for button in chosen["buttons"]]
        return message

    def _variant(self, name: str, channel: Optional[str]) -> Optional[Mapping[str, Any]]:
        with_text = [v for v in self.variations(name) if v.get("text")]
        if channel:
            for variant in with_text:
                if variant.get("channel") == channel:
                    return variant
        for variant in with_text:
            if not variant.get("channel"):
                return variant
        return with_text[0] if with_text else None


def live_overlay(database_url: Optional[str] = None) -> Callable[[], Mapping[str, Any]]:
    """The staff overrides of ``database_url`` (default: ``DATABASE_URL``), version-checked on every call."""
    from bot.texts.live import live_overrides

    return lambda: live_overrides(database_url).current()


@functools.lru_cache(maxsize=1)
def project_responses() -> Responses:
    """The responses of this project's domain files (loaded once per process), with staff edits."""
    return Responses.from_files(live=True)


def fill(template: str, variables: Mapping[str, Any]) -> str:
    """Replace ``{name}`` by ``variables[name]``; unknown names stay as written (like Rasa)."""

    def replace(match: re.Match) -> str:
        key = match.group(1)
        if key in variables and variables[key] is not None:
            return str(variables[key])
        logger.warning("response placeholder {%s} has no value", key)
        return match.group(0)

    return _PLACEHOLDER.sub(replace, template)
