"""The BN inventory of a model: every BN layer with its settings, its mode under fit()
and a summary of its moving statistics (`bnlint inspect`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import momentum as mom
from .graph import Layer, ModelGraph
from .semantics import bn_mode


def inventory(graph: ModelGraph, statistics: bool = True) -> dict[str, Any]:
    """The inventory JSON of DESIGN.md, plus per layer the time constant 1/(1-m) and
    (when the weights can be read) the range of its moving statistics."""
    rows = [_row(graph, layer, statistics) for layer in graph.bn_layers()]
    report: dict[str, Any] = {"path": graph.path, "keras_version": graph.keras_version, "bn_layers": rows}
    notes = graph.all_notes()
    if notes:
        report["notes"] = notes
    return report


def _row(graph: ModelGraph, layer: Layer, statistics: bool) -> dict[str, Any]:
    config = layer.config
    axis = config.get("axis", -1)
    momentum = config.get("momentum")
    return {
        "path": layer.path,
        "class_name": layer.class_name,
        "momentum": momentum,
        "epsilon": config.get("epsilon"),
        "axis": axis[0] if isinstance(axis, list) and len(axis) == 1 else axis,
        "trainable": layer.trainable,
        "renorm": bool(config.get("renorm", False)),
        "scale": config.get("scale", True) is not False,
        "center": config.get("center", True) is not False,
        "trains": bn_mode(layer, graph.generation, graph.keras_version).updates_stats,
        "time_constant": _time_constant(momentum),
        "statistics": _statistics(graph, layer) if statistics else None,
    }


def _time_constant(momentum: Any) -> float | None:
    if not isinstance(momentum, (int, float)) or isinstance(momentum, bool) or not 0 <= momentum < 1:
        return None
    return round(mom.time_constant(momentum), 6)


def _statistics(graph: ModelGraph, layer: Layer) -> dict[str, Any] | None:
    """{"channels", "moving_mean": [min, max], "moving_variance": [min, max]} (NaN-aware); None if unreadable."""
    arrays = graph.bn_weights(layer)
    if arrays is None:
        return None
    summary: dict[str, Any] = {"channels": int(arrays["moving_mean"].size)}
    for name in ("moving_mean", "moving_variance"):
        values = arrays[name]
        finite = values[~np.isnan(values)]  # Inf stays visible in the range
        summary[name] = [float(finite.min()), float(finite.max())] if finite.size else None
    return summary


def statistics_line(summary: dict[str, Any] | None) -> str:
    """'mean [-0.12, 0.3] var [0.8, 1.9]' for the inventory table."""
    if summary is None:
        return "not read"
    parts = []
    for name, label in (("moving_mean", "mean"), ("moving_variance", "var")):
        bounds = summary.get(name)
        if bounds is None:
            parts.append(f"{label} all NaN")
        elif bounds[0] == bounds[1]:
            parts.append(f"{label} {bounds[0]:.3g}")
        else:
            parts.append(f"{label} [{bounds[0]:.3g}, {bounds[1]:.3g}]")
    return " ".join(parts)


def inspect_file(path: str, limits: tuple[tuple[str, int], ...] = ()) -> tuple[dict[str, Any] | None, str | None]:
    """(inventory, None) or (None, the one-line reason the file cannot be inspected)."""
    from .detect import kind_of
    from .errors import InputError
    from .isolation import run_isolated
    from .limits import in_force
    from .linting import FileResult, Options, error_boundary, limits_for
    from .readers import read_model

    result = FileResult(path=path)
    report = None
    with error_boundary(result):
        kind = kind_of(path)
        if kind in ("script", "notebook"):
            raise InputError("inspect reads saved models (.keras, .h5, SavedModel), not scripts")
        limits_now = limits_for(path, Options(limits=limits))

        def work() -> dict[str, Any]:
            with in_force(limits_now), read_model(path, kind) as graph:
                return inventory(graph) | {"generation": graph.generation.value}

        report = run_isolated(work, limits_now.max_seconds)
    return report, result.error
