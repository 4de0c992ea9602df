"""Rasa-side: run the prediction graph node by node, with the plan of each target set made once.

Rasa 3.6 runs its graph (the NLU pipeline for a parse, the policies and ensemble for a
prediction) with ``DaskGraphRunner``: every run recomputes the part of the graph the targets
need (``minimal_graph_schema``, recursive), builds a dask graph and hands it to dask's
synchronous scheduler — about 7 % of the Rasa server's CPU per turn here (docs/profile.md),
for graphs of some 15 nodes run three times a turn. :class:`PlannedGraphRunner` keeps
Rasa's nodes and their inputs exactly as they are, works out once per set of targets which
nodes run and in what order (dependencies first, as dask would), and calls them in that order.
:func:`install` makes Rasa's message processor load models with it.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner

Plan = Tuple[Tuple[str, Tuple[str, ...]], ...]


class PlannedGraphRunner(DaskGraphRunner):
    """``DaskGraphRunner`` with the same nodes and results, run in a precomputed order without dask."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Same arguments as ``DaskGraphRunner``; no plan made yet."""
        super().__init__(*args, **kwargs)
        self._plans: Dict[Tuple[str, ...], Plan] = {}

    def _plan(self, targets: Tuple[str, ...]) -> Plan:
        """(node, the names its inputs come from) for every node the targets need, dependencies first."""
        if targets not in self._plans:
            self._plans[targets] = self._make_plan(targets)
        return self._plans[targets]

    def _make_plan(self, targets: Tuple[str, ...]) -> Plan:
        nodes = self._graph_schema.nodes
        order: List[Tuple[str, Tuple[str, ...]]] = []
        done: set = set()

        def visit(name: str, path: Tuple[str, ...]) -> None:
            if name in done or name not in nodes:  # done, or an input placeholder
                return
            if name in path:
                raise GraphRunError(f"the graph has a cycle through '{name}'")
            needs = tuple(nodes[name].needs.values())
            for dependency in needs:
                visit(dependency, (*path, name))
            done.add(name)
            order.append((name, needs))

        for target in targets:
            visit(target, ())
        return tuple(order)

    def run(self, inputs: Optional[Dict[str, Any]] = None, targets: Optional[List[str]] = None) -> Dict[str, Any]:
        """Runs the graph (same contract as ``DaskGraphRunner.run``)."""
        run_targets: Sequence[str] = targets if targets else self._graph_schema.target_names
        values: Dict[str, Any] = {}
        for name, value in (inputs or {}).items():
            if isinstance(value, str) and value in self._graph_schema.nodes:
                raise GraphRunError(f"Input value '{value}' clashes with a node name. Make sure that none of the "
                                    f"input names passed to the `run` method are the same as node names in the "
                                    f"graph schema.")
            values[name] = (name, value)
        try:
            for name, needs in self._plan(tuple(run_targets)):
                values[name] = self._instantiated_nodes[name](*(values.get(n, n) for n in needs))
        except RuntimeError as exc:
            raise GraphRunError("Error running runner.") from exc
        return dict(values.get(t, t) for t in run_targets)


def install() -> None:
    """Make Rasa's message processor load models with :class:`PlannedGraphRunner` (idempotent)."""
    from rasa.core import processor

    processor.DaskGraphRunner = PlannedGraphRunner  # type: ignore[misc]
