"""The BN inventory of a model: every BN layer with its settings and its mode under fit()."""

from __future__ import annotations

from typing import Any

from .graph import ModelGraph
from .semantics import bn_mode


def inventory(graph: ModelGraph) -> dict[str, Any]:
    """The inventory JSON of DESIGN.md."""
    rows = []
    for layer in graph.bn_layers():
        config = layer.config
        axis = config.get("axis", -1)
        rows.append(
            {
                "path": layer.path,
                "class_name": layer.class_name,
                "momentum": config.get("momentum"),
                "epsilon": config.get("epsilon"),
                "axis": axis[0] if isinstance(axis, list) and len(axis) == 1 else axis,
                "trainable": layer.trainable,
                "renorm": bool(config.get("renorm", False)),
                "trains": bn_mode(layer, graph.generation, graph.keras_version).updates_stats,
            }
        )
    return {"path": graph.path, "keras_version": graph.keras_version, "bn_layers": rows}
