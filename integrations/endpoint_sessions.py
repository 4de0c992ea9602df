"""Rasa-side: calls to the action server (and Rasa's other HTTP endpoints) over kept-alive connections.

Rasa 3.6's ``EndpointConfig.request`` opens ``async with self.session()``: a new aiohttp
``ClientSession``, connector and TCP connection for every action call, closed again after it,
and the request body (the whole tracker and the domain) is encoded with the standard ``json``
module. :func:`install` makes ``EndpointConfig.session()`` lend a session shared by every call
with the same headers and credentials in the running event loop (one per Sanic worker), whose
connections are kept alive for :data:`KEEPALIVE_S` seconds, less than the 5 s after which the
action server's Sanic closes an idle connection, so a kept connection is never one the server is
closing. Bodies are encoded with ``ujson`` (already installed with Sanic); anything it cannot
encode falls back to ``json``. Requests, headers, timeouts, errors and answers are Rasa's own.

The domain, which an action call carries whole (about 31 kB) and which does not change while a
model is loaded, is turned into a dict and encoded once per domain object: the action call's body
(``RemoteAction._action_call_format``, Rasa's fields in Rasa's order) holds that dict, and
:func:`dumps` writes the text kept for it instead of encoding it again.

The tracker in an action call carries Rasa's explicit fields (slots, latest message, active loop,
latest action, input channel) whole, but its ``events`` only from the listen before the latest user
message on (:func:`current_turn`): what rasa-sdk and the actions read of them (the slots a form
just extracted, the latest user message) is in that turn, and a call no longer grows with the
conversation or carries a citizen's earlier messages again. The actions of
:data:`FULL_HISTORY_ACTIONS` (the handoff, which gives the agent the conversation so far) get
every event, as Rasa sends them.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from typing import Any, Dict, Sequence

import aiohttp
import ujson

KEEPALIVE_S = 2.0
FULL_HISTORY_ACTIONS = frozenset({"action_request_human"})  # the actions that read ``tracker.events``
_SESSIONS: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Dict[str, aiohttp.ClientSession]]" = (
    weakref.WeakKeyDictionary())
_originals: Dict[str, Any] = {}


_DOMAIN: Dict[str, Any] = {}  # the last domain object sent: "of" → its dict ("dict") and its JSON ("json")


def _encode(obj: Any) -> str:
    try:
        return ujson.dumps(obj, ensure_ascii=False, escape_forward_slashes=False)
    except (TypeError, OverflowError, ValueError):
        return json.dumps(obj)


def domain_dict(domain: Any) -> Dict[str, Any]:
    """``domain.as_dict()``, made once per domain object (read-only: only encoded)."""
    if _DOMAIN.get("of") is not domain:
        as_dict = domain.as_dict()
        _DOMAIN.update({"of": domain, "dict": as_dict, "json": _encode(as_dict)})
    return _DOMAIN["dict"]


def dumps(obj: Any) -> str:
    """JSON text of ``obj``: ujson, or the standard encoder for what ujson refuses; the kept
    domain dict as its kept text."""
    if isinstance(obj, dict) and "domain" in obj and obj["domain"] is _DOMAIN.get("dict") and len(obj) > 1:
        rest = _encode({key: value for key, value in obj.items() if key != "domain"})
        return f'{rest[:-1]},"domain":{_DOMAIN["json"]}}}'
    return _encode(obj)


def current_turn(events: Sequence[Any]) -> Sequence[Any]:
    """The events from the listen before the latest user message on (all of them without one)."""
    from rasa.shared.core.constants import ACTION_LISTEN_NAME
    from rasa.shared.core.events import ActionExecuted, UserUttered

    for index in range(len(events) - 1, -1, -1):
        if isinstance(events[index], UserUttered):
            before = events[index - 1] if index else None
            listened = isinstance(before, ActionExecuted) and before.action_name == ACTION_LISTEN_NAME
            return events[index - 1 if listened else index:]
    return events


def action_call_format(self: Any, tracker: Any, domain: Any) -> Dict[str, Any]:
    """``RemoteAction._action_call_format`` with the domain's dict made once (the same fields, in
    order) and the tracker's events of the current turn only (all for :data:`FULL_HISTORY_ACTIONS`)."""
    import rasa
    from rasa.shared.core.trackers import EventVerbosity

    state = tracker.current_state(EventVerbosity.NONE)
    events = list(tracker.events)
    state["events"] = [event.as_dict() for event in
                       (events if self._name in FULL_HISTORY_ACTIONS else current_turn(events))]
    result = {"next_action": self._name, "sender_id": tracker.sender_id, "tracker": state,
              "version": rasa.__version__}
    if not self._is_selective_domain_enabled() or domain.does_custom_action_explicitly_need_domain(self.name()):
        result["domain"] = domain_dict(domain)
    return result


class _Lent:
    """``async with`` over a shared session that leaves it open afterwards."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self.session

    async def __aexit__(self, *_exc: Any) -> None:
        return None


def shared_session(endpoint: Any) -> aiohttp.ClientSession:
    """The running loop's session for ``endpoint``'s headers and credentials (made on first use)."""
    from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT

    loop = asyncio.get_running_loop()
    sessions = _SESSIONS.setdefault(loop, {})
    key = repr((sorted(endpoint.headers.items()), sorted(endpoint.basic_auth.items())))
    session = sessions.get(key)
    if session is None or session.closed:
        auth = (aiohttp.BasicAuth(endpoint.basic_auth["username"], endpoint.basic_auth["password"])
                if endpoint.basic_auth else None)
        session = aiohttp.ClientSession(
            headers=endpoint.headers, auth=auth, json_serialize=dumps,
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_S))
        sessions[key] = session
    return session


def lend_session(endpoint: Any) -> _Lent:
    """Replacement for ``EndpointConfig.session``: the shared session, lent for one ``async with``."""
    return _Lent(shared_session(endpoint))


async def close_sessions() -> None:
    """Close the running loop's shared sessions (at shutdown; the next call makes new ones)."""
    for session in _SESSIONS.pop(asyncio.get_running_loop(), {}).values():
        await session.close()


def install() -> None:
    """Make ``EndpointConfig.session`` lend the shared sessions, closed with Rasa's resources (idempotent)."""
    import rasa.core.run
    from rasa.core.actions.action import RemoteAction
    from rasa.utils.endpoints import EndpointConfig

    if EndpointConfig.session is lend_session:
        return
    _originals["session"], _originals["close"] = EndpointConfig.session, rasa.core.run.close_resources
    _originals["format"] = RemoteAction.__dict__["_action_call_format"]
    RemoteAction._action_call_format = action_call_format  # type: ignore[method-assign]

    async def close_resources(app: Any, loop: asyncio.AbstractEventLoop) -> None:
        await _originals["close"](app, loop)
        await close_sessions()

    EndpointConfig.session = lend_session  # type: ignore[assignment]
    rasa.core.run.close_resources = close_resources


def uninstall() -> None:
    """Give Rasa its own ``EndpointConfig.session`` and ``close_resources`` back (tests)."""
    import rasa.core.run
    from rasa.core.actions.action import RemoteAction
    from rasa.utils.endpoints import EndpointConfig

    if _originals:
        EndpointConfig.session = _originals.pop("session")  # type: ignore[assignment]
        rasa.core.run.close_resources = _originals.pop("close")
        RemoteAction._action_call_format = _originals.pop("format")  # type: ignore[method-assign]
