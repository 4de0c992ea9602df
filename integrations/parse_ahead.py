"""Rasa-side: a lone turn's NLU parse run beside its tracker load, not after it (issue 15, item 29).

At one citizen a turn is a chain in one thread: the conversation is loaded from the database and
its session checked, then the message is parsed, then the policies predict. The parse does not
read the conversation (the NLU part of Rasa's graph takes the message alone; a test holds the
model to that), and TensorFlow's part of it runs without the GIL. So when no other turn is in the
message processor, the parse of the turn's message starts in a thread of its own as the turn
starts, and the processor, when it comes to the parse, takes that result. When other turns are in
the processor the parse runs inline, as Rasa runs it: the two cores are busy anyway, and a thread
would only compete for the GIL with them.

Two parses never run at once: one lock covers the thread's parse and every inline one (the
tokenizer and the featurizers were not written to be used from two threads). The thread drives
Rasa's own ``parse_message`` coroutine, which does not suspend without an HTTP interpreter; with
one (a remote NLU server), every parse is Rasa's.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Coroutine, Dict, Optional

_original: Dict[str, Any] = {}
_PARSE_LOCK = threading.Lock()
_EXECUTOR: Optional[ThreadPoolExecutor] = None
_AHEAD: "contextvars.ContextVar[Optional[asyncio.Future]]" = contextvars.ContextVar("parse_ahead", default=None)
_turns = 0   # turns in the message processor (the event loop's thread only)


def _finished(coro: Coroutine[Any, Any, Any]) -> Any:
    """The value of a coroutine that completes without suspending; RuntimeError if it suspends."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    raise RuntimeError("the parse suspended: it cannot run in the parse thread")


def _parse_in_thread(processor: Any, message: Any) -> Dict[str, Any]:
    with _PARSE_LOCK:
        return _finished(_original["parse_message"](processor, message, None))


def _executor() -> ThreadPoolExecutor:
    global _EXECUTOR
    if _EXECUTOR is None:
        _EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nlu-parse")
    return _EXECUTOR


async def handle_message(self: Any, message: Any) -> Any:
    """``MessageProcessor.handle_message``; a lone turn's parse starts at once in the parse thread."""
    global _turns
    token = None
    if _turns == 0 and not message.parse_data and self.http_interpreter is None:
        ahead = asyncio.get_running_loop().run_in_executor(_executor(), _parse_in_thread, self, message)
        token = _AHEAD.set(ahead)
    _turns += 1
    try:
        return await _original["handle_message"](self, message)
    finally:
        _turns -= 1
        if token is not None:
            ahead = _AHEAD.get()
            _AHEAD.reset(token)
            if ahead is not None:   # the turn ended before its parse was asked for (an error)
                ahead.add_done_callback(lambda f: f.cancelled() or f.exception())


async def parse_message(self: Any, message: Any, tracker: Any = None, only_output_properties: bool = True) -> Any:
    """``MessageProcessor.parse_message``: the turn's parse from the thread when it was started there."""
    ahead = _AHEAD.get()
    if ahead is not None and only_output_properties:
        _AHEAD.set(None)
        return await ahead
    if self.http_interpreter is not None:
        return await _original["parse_message"](self, message, tracker, only_output_properties)
    with _PARSE_LOCK:   # blocks the loop only while a lone turn's parse finishes in the thread
        return _finished(_original["parse_message"](self, message, tracker, only_output_properties))


def install() -> None:
    """Patch Rasa's message processor (idempotent)."""
    from rasa.core.processor import MessageProcessor

    for name, function in (("handle_message", handle_message), ("parse_message", parse_message)):
        if name not in _original:
            _original[name] = MessageProcessor.__dict__[name]
            setattr(MessageProcessor, name, function)


def uninstall() -> None:
    """Put Rasa's own methods back (tests)."""
    from rasa.core.processor import MessageProcessor

    for name, function in list(_original.items()):
        setattr(MessageProcessor, name, function)
        del _original[name]
