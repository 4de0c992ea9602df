"""Rasa-side: the NLU model's traced prediction function called directly, without TF's dispatch.

Rasa 3.6 runs DIET's prediction through a ``tf.function`` with a fixed input signature
(``RasaModel._rasa_predict``). Each call goes through TensorFlow's polymorphic dispatch: the
inputs are canonicalised against the signature, cast and looked up in the function cache before
the one traced graph runs — about 1.2 of the 3.3 ms that call takes here, at every parse
(docs/profile.md). With a fixed signature there is only ever one traced graph, so after Rasa's
first call (which traces it) :func:`_rasa_predict` keeps that graph (``get_concrete_function``)
and calls it with the batch converted to tensors of the signature's types. Outputs are the same
graph's, post-processed as Rasa does; a batch that does not convert to the signature's types
takes Rasa's own path (which raises what it raises).
"""

from __future__ import annotations

import weakref
from typing import Any, Dict, Sequence

_original: Dict[str, Any] = {}
_graphs: "weakref.WeakKeyDictionary[Any, Any]" = weakref.WeakKeyDictionary()


def _tensors(graph: Any, batch_in: Sequence[Any]) -> Any:
    """The batch as tensors of the traced graph's input types, or None when it does not fit."""
    import tensorflow as tf

    specs = graph.structured_input_signature[0][0]
    if len(specs) != len(batch_in):
        return None
    try:
        return [tf.convert_to_tensor(value, dtype=spec.dtype) for value, spec in zip(batch_in, specs)]
    except (TypeError, ValueError):
        return None


def _rasa_predict(self: Any, batch_in: Sequence[Any]) -> Dict[str, Any]:
    """``RasaModel._rasa_predict`` with the traced graph called directly once it exists."""
    graph = _graphs.get(self)
    tensors = _tensors(graph, batch_in) if graph is not None and not self._run_eagerly else None
    if tensors is None:
        outputs = _original["_rasa_predict"](self, batch_in)
        if graph is None and not self._run_eagerly and self._tf_predict_step is not None:
            _graphs[self] = self._tf_predict_step.get_concrete_function()
        return outputs
    from keras.utils import tf_utils
    from rasa.shared.constants import DIAGNOSTIC_DATA

    self._training = False
    outputs = tf_utils.sync_to_numpy_or_python_type(graph(tensors))
    if DIAGNOSTIC_DATA in outputs:
        outputs[DIAGNOSTIC_DATA] = self._empty_lists_to_none_in_dict(outputs[DIAGNOSTIC_DATA])
    return outputs


def install() -> None:
    """Make ``RasaModel._rasa_predict`` call the traced graph directly (idempotent)."""
    from rasa.utils.tensorflow.models import RasaModel

    if "_rasa_predict" not in _original:
        _original["_rasa_predict"] = RasaModel.__dict__["_rasa_predict"]
    RasaModel._rasa_predict = _rasa_predict  # type: ignore[method-assign]


def uninstall() -> None:
    """Give Rasa its own ``_rasa_predict`` back (tests)."""
    from rasa.utils.tensorflow.models import RasaModel

    if "_rasa_predict" in _original:
        RasaModel._rasa_predict = _original.pop("_rasa_predict")  # type: ignore[method-assign]
