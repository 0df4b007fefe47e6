from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..context import TrainingContext
from ..diagnostics import Diagnostic, Severity
from ..graph import ModelGraph
from ._shared import settings
from .base import Example, Rule

CONSTANT_INITIALIZERS = {"ones": 1.0, "zeros": 0.0}
DEFAULT_INIT = {"gamma": 1.0, "beta": 0.0, "moving_mean": 0.0, "moving_variance": 1.0}

DENSE_BN = "inp = keras.Input((16,))\nx = layers.Dense(8)(inp)\nbn = layers.BatchNormalization()\nx = bn(x)\n"
HEAD = "model = keras.Model(inp, layers.Dense(2)(x))\n"


def initial_value(layer_config: dict[str, Any], variable: str) -> float | None:
    """The constant a BN variable starts at, from its initializer; None if not constant."""
    if f"{variable}_initializer" not in layer_config:
        return DEFAULT_INIT[variable]
    init = layer_config[f"{variable}_initializer"]
    if isinstance(init, str):
        return CONSTANT_INITIALIZERS.get(init.lower())
    if not isinstance(init, dict):
        return None
    name = str(init.get("class_name", "")).lower()
    if name == "constant":
        value = (init.get("config") or {}).get("value")
        return float(value) if isinstance(value, (int, float)) else None
    return CONSTANT_INITIALIZERS.get(name)


def check(graph: ModelGraph, context: TrainingContext) -> Iterable[Diagnostic]:
    for bn in graph.bn_layers():
        arrays = graph.bn_weights(bn)
        if arrays is None:
            continue
        start = {name: initial_value(bn.config, name) for name in arrays if name in DEFAULT_INIT}
        if any(start.get(s) is None or not np.all(arrays[s] == start[s]) for s in ("moving_mean", "moving_variance")):
            continue  # the statistics moved (or their start is unknown)
        moved = {
            name: float(np.nanmax(np.abs(arrays[name] - start[name])))
            for name in ("gamma", "beta")
            if name in arrays and start.get(name) is not None and not np.all(arrays[name] == start[name])
        }
        if not moved:
            continue  # an untrained layer: nothing learned, nothing stale
        trained = ", ".join(f"{name} moved by up to {delta:.3g}" for name, delta in moved.items())
        yield RULE.diagnostic(
            f"BN layer '{bn.name}' was trained but its moving statistics were never updated",
            detail=f"{trained}, but its moving_mean is still all {start['moving_mean']:g} and moving_variance all "
            f"{start['moving_variance']:g}, so inference normalizes with the initial values instead of the data's "
            "statistics.",
            layer=bn.path,
            settings=settings([bn], "momentum", "trainable"),
        )


RULE = Rule(
    code="BN005",
    name="stale-moving-stats",
    severity=Severity.ERROR,
    summary="gamma/beta were trained but the moving statistics still hold their initial values.",
    what=(
        "Reads the weights of every BN layer (only those arrays) and finds layers whose "
        "gamma or beta differ from their initial values while moving_mean and "
        "moving_variance are exactly at theirs (all 0 and all 1 by default)."
    ),
    why=(
        "In inference mode BN normalizes with the moving statistics. If gamma/beta were "
        "learned but the moving averages never moved, the layer was trained with batch "
        "statistics whose running averages were never written: a custom training loop that "
        "calls the model without `training=True` or drops the update ops (TF1 "
        "`UPDATE_OPS`), a JAX loop that discards the non-trainable state, or statistics "
        "reset by a weight-loading accident. Training accuracy looks fine; predictions "
        "are wrong, because every feature is normalized with mean 0 and variance 1."
    ),
    fix_text=(
        "None: the right statistics depend on the data. Re-estimate them by running the "
        "training data through the model in training mode without updating weights (the "
        "planned `bnlint probe` does this), or fix the training loop and retrain."
    ),
    fix_safety="No automatic fix.",
    examples=(
        Example(
            "gamma and beta trained, statistics never updated",
            DENSE_BN + HEAD + "gamma, beta, mean, var = bn.get_weights()\n"
            "bn.set_weights([gamma * 1.5, beta + 0.2, mean, var])  # what a loop that drops BN updates leaves",
        ),
        Example(
            "a freshly initialized model (nothing trained yet)",
            DENSE_BN + HEAD,
            fires_on=frozenset(),
        ),
        Example(
            "trained with fit(): statistics updated",
            DENSE_BN + HEAD + "model.compile('sgd', 'mse')\n"
            "model.fit(np.random.rand(64, 16), np.random.rand(64, 2), batch_size=16, epochs=1, verbose=0)",
            fires_on=frozenset(),
        ),
    ),
    check_model=check,
)
