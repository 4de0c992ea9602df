"""Rasa-side: a message's sparse features joined in one ``hstack``, not one per featurizer.

Before DIET reads a message, Rasa 3.6 joins the sparse features of every featurizer of each
attribute (``Message._combine_features``): it deep-copies the first one and then calls
``scipy.sparse.hstack`` once per further featurizer, each call rebuilding the growing matrix —
three joins of four matrices, for the sequence and the sentence features, at every parse
(docs/profile.md). :func:`_combine_features` joins them with one ``hstack`` into the same
matrix (same format, type, values and order) in a new :class:`Features` with Rasa's type,
attribute and origin. Dense features, a single feature and rows that do not match (Rasa's error)
take Rasa's own path.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

_original: Dict[str, Any] = {}


def _combine_features(features: List[Any], featurizers: List[str]) -> Optional[Any]:
    """``Message._combine_features`` with all sparse matrices joined at once."""
    if len(features) < 2 or not all(f.is_sparse() for f in features):
        return _original["_combine_features"](features, featurizers)
    rows = features[0].features.shape[0]
    if any(f.features.shape[0] != rows for f in features):
        return _original["_combine_features"](features, featurizers)
    from rasa.shared.nlu.training_data.features import Features
    from scipy.sparse import hstack

    first = features[0]
    return Features(hstack([f.features for f in features]), first.type, first.attribute, featurizers)


def install() -> None:
    """Make ``Message._combine_features`` join sparse features at once (idempotent)."""
    from rasa.shared.nlu.training_data.message import Message

    if "_combine_features" not in _original:
        _original["_combine_features"] = Message.__dict__["_combine_features"].__func__
    Message._combine_features = staticmethod(_combine_features)  # type: ignore[method-assign]


def uninstall() -> None:
    """Give Rasa its own ``_combine_features`` back (tests)."""
    from rasa.shared.nlu.training_data.message import Message

    if "_combine_features" in _original:
        Message._combine_features = staticmethod(_original.pop("_combine_features"))  # type: ignore[method-assign]
