"""Rasa-side: the deep copies Rasa makes for its debug log lines, made only when they are written.

Rasa 3.6 passes deep copies of events, slot values and dialogue states to its structured debug
lines (``structlogger.debug("processor.actions.log", rasa_events=copy.deepcopy(events))``, before
and after each action, for each prediction and form validation), so that its anonymising log
processor can edit them. The copies are made even when debug lines are dropped: about 1 % of the
Rasa server's CPU at twenty citizens (docs/profile.md, item 27).

In the modules whose every ``copy.deepcopy`` is such a log argument (the processor, forms, the
memoization and rule policies; checked by the tests against Rasa's source), :func:`install`
replaces the module's name ``copy`` with :data:`LOG_COPY`, which is the ``copy`` module except
that ``deepcopy`` hands the object back unchanged while debug lines are dropped, both by
structlog's filtering logger and by the standard logging root, and copies as before otherwise.
"""

from __future__ import annotations

import copy
import logging
import types
from typing import Any, Dict, List

import structlog

MODULES = ("rasa.core.processor", "rasa.core.actions.forms", "rasa.core.policies.memoization",
           "rasa.core.policies.rule_policy")
_original: Dict[str, Any] = {}


def debug_lines_written() -> bool:
    """Whether a debug line would be written now (structlog's filter, or the logging root's level)."""
    wrapper = structlog.get_config().get("wrapper_class")
    dropped = getattr(getattr(wrapper, "debug", None), "__name__", "") == "_nop"
    return not dropped or logging.getLogger().isEnabledFor(logging.DEBUG)


def deepcopy(value: Any, memo: Any = None) -> Any:
    """``copy.deepcopy`` when debug lines are written; the value itself when they are dropped."""
    return copy.deepcopy(value, memo) if debug_lines_written() else value


LOG_COPY = types.ModuleType("copy", "the copy module, with deepcopy only for debug lines that are written")
LOG_COPY.__dict__.update({name: getattr(copy, name) for name in dir(copy) if not name.startswith("__")})
LOG_COPY.deepcopy = deepcopy  # type: ignore[attr-defined]


def _modules() -> List[Any]:
    import importlib

    return [importlib.import_module(name) for name in MODULES]


def install() -> None:
    """Give the logging modules the log copy (idempotent)."""
    for module in _modules():
        if module.copy is not LOG_COPY:
            _original[module.__name__] = module.copy
            module.copy = LOG_COPY


def uninstall() -> None:
    """Give them the ``copy`` module back (tests)."""
    for module in _modules():
        if module.__name__ in _original:
            module.copy = _original.pop(module.__name__)
