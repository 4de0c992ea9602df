"""Rasa's debug-line copies (issue 15, item 27): skipped only where they are log arguments, only when dropped."""

from __future__ import annotations

import ast
import importlib
import inspect
import logging
from typing import Iterator, List

import pytest
import structlog
from rasa.utils.log_utils import configure_structlog

from integrations import log_copies
from tests.support.rasa_patches import keep_rasa_as_is


@pytest.fixture
def structlog_as_is() -> Iterator[None]:
    config, level = structlog.get_config(), logging.getLogger().level
    yield
    structlog.configure(**config)
    logging.getLogger().setLevel(level)


def _deepcopies_outside_debug_lines(source: str) -> List[int]:
    """Lines of ``copy.deepcopy`` calls that are not arguments of a ``….debug(...)`` call."""
    tree, inside = ast.parse(source), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "debug":
            inside |= {id(sub) for arg in [*node.args, *(k.value for k in node.keywords)] for sub in ast.walk(arg)}
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "deepcopy"
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "copy" and id(node) not in inside]


@pytest.mark.parametrize("name", log_copies.MODULES)
def test_every_deep_copy_in_the_modules_is_a_debug_line_argument(name: str) -> None:
    source = inspect.getsource(importlib.import_module(name))
    assert "copy.deepcopy" in source
    assert _deepcopies_outside_debug_lines(source) == []


def test_the_check_finds_a_copy_that_is_not_for_a_log_line() -> None:
    assert _deepcopies_outside_debug_lines("x = copy.deepcopy(y)\nlog.debug('e', v=copy.deepcopy(z))\n") == [1]


@pytest.mark.parametrize("level", [logging.INFO, logging.WARNING])
def test_dropped_debug_lines_get_the_value_itself(structlog_as_is: None, level: int) -> None:
    configure_structlog(level)
    value = {"events": [{"text": "so cuoi 5678"}]}
    assert not log_copies.debug_lines_written()
    assert log_copies.LOG_COPY.deepcopy(value) is value


def test_written_debug_lines_get_a_deep_copy(structlog_as_is: None) -> None:
    configure_structlog(logging.DEBUG)
    value = {"events": [{"text": "so cuoi 5678"}]}
    copied = log_copies.LOG_COPY.deepcopy(value)
    assert log_copies.debug_lines_written() and copied == value and copied["events"] is not value["events"]
    configure_structlog(logging.INFO)
    logging.getLogger().setLevel(logging.DEBUG)  # the standard root alone asks for them: copied too
    assert log_copies.LOG_COPY.deepcopy(value) is not value


def test_the_rest_of_copy_is_the_copy_module() -> None:
    import copy

    assert log_copies.LOG_COPY.copy is copy.copy and log_copies.LOG_COPY.Error is copy.Error


def test_the_rasa_process_installs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from rasa.core import processor

    from integrations import rasa_process

    keep_rasa_as_is(monkeypatch)
    rasa_process.install()
    assert all(importlib.import_module(name).copy is log_copies.LOG_COPY for name in log_copies.MODULES)
    log_copies.uninstall()
    assert processor.copy.deepcopy is not log_copies.deepcopy
