"""The one place where the Rasa server's process is adjusted at start-up, before Rasa runs.

``bot.cli serve`` starts Rasa as ``python -c RASA_MAIN`` (:mod:`bot.cli.serve`), which calls
:func:`install` and then Rasa's own ``main()``. Each adjustment is a module of its own:

* :mod:`integrations.model_pull` — the local model when the console's model server gives none;
* :mod:`integrations.action_validation` — action server responses checked with a JSON-schema
  validator compiled once instead of on every call (issue 15, docs/profile.md);
* :mod:`integrations.graph_runner` — the prediction graph run node by node in an order worked
  out once per set of targets, instead of through dask on every parse and prediction;
* :mod:`integrations.endpoint_sessions` — action server calls over kept-alive connections, their
  bodies encoded with ujson, instead of a new HTTP session and connection per call;
* :mod:`integrations.state_cache` — a tracker's dialogue states worked out once per prediction,
  not once per policy, and the events Rasa applies walked only where they were appended;
* :mod:`integrations.event_types` — an event's class found from a table, not a walk of every
  subclass of ``Event`` per event read;
* :mod:`integrations.rule_keys` — the rule policy's rules reversed once, and the walk back
  through the conversation stopped when no rule still possible reaches further;
* :mod:`integrations.tf_predict` — the NLU model's traced prediction graph called directly,
  without TensorFlow's per-call dispatch;
* :mod:`integrations.sparse_features` — a message's sparse features joined in one ``hstack``;
* :mod:`integrations.tracker_copy` — the tracker Rasa copies before each action, and the
  temporary tracker a form validates with, built from the tracker's state, not by replaying the
  conversation; a slot copied without ``copy``'s generic path;
* :mod:`integrations.log_copies` — the deep copies Rasa makes for its debug lines made only when
  debug lines are written;
* :mod:`integrations.turn_gate` — at most ``TURN_CONCURRENCY`` turns in the message processor at
  once, the others oldest first.

``rasa test``/``rasa shell`` started by hand run Rasa unchanged: answers are the same, only
slower, and without the model server fallback (they are given a local model anyway).
"""

from __future__ import annotations


def install() -> None:
    """Install every adjustment (idempotent)."""
    from integrations import (
        action_validation,
        endpoint_sessions,
        event_types,
        graph_runner,
        log_copies,
        model_pull,
        rule_keys,
        sparse_features,
        state_cache,
        tf_predict,
        tracker_copy,
        turn_gate,
    )

    model_pull.install()
    action_validation.install()
    graph_runner.install()
    endpoint_sessions.install()
    state_cache.install()
    event_types.install()
    rule_keys.install()
    tf_predict.install()
    sparse_features.install()
    tracker_copy.install()
    log_copies.install()
    turn_gate.install()
