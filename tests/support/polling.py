"""Polling for a condition in tests that wait on another process (a training run, a model pull)."""

from __future__ import annotations

import time
from typing import Callable, Optional


def wait_for(condition: Callable[[], Optional[object]], timeout: float, step: float = 1.0) -> Optional[object]:
    """Poll ``condition`` until it returns something truthy or ``timeout`` s pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    return condition()
