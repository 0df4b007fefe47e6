from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..context import TrainingContext
from ..diagnostics import Diagnostic, Severity
from ..graph import ModelGraph
from ._shared import plural, settings
from .base import Example, Rule

DENSE_BN = "inp = keras.Input((16,))\nx = layers.Dense(8)(inp)\nbn = layers.BatchNormalization()\nx = bn(x)\n"
HEAD = "model = keras.Model(inp, layers.Dense(2)(x))\n"


def faults(arrays: dict[str, np.ndarray], epsilon: float) -> tuple[list[str], np.ndarray]:
    """Descriptions of what is wrong, and a mask of the channels affected."""
    found: list[str] = []
    affected = np.zeros(next(iter(arrays.values())).shape, dtype=bool)
    for name, values in arrays.items():
        for label, mask in (("NaN", np.isnan(values)), ("Inf", np.isinf(values))):
            if mask.any():
                found.append(f"{name} {label} in {plural(int(mask.sum()), 'channel')}")
                affected |= mask
    variance = arrays["moving_variance"]
    with np.errstate(invalid="ignore"):
        negative = variance < 0
        singular = variance + epsilon <= 0
    if negative.any():
        text = f"moving_variance negative in {plural(int(negative.sum()), 'channel')} (min {np.nanmin(variance):.3g})"
        if singular.any():
            text += f", {int(singular.sum())} of them with moving_variance + epsilon <= 0"
        found.append(text)
    elif singular.any():  # only possible with a non-positive epsilon
        found.append(f"moving_variance + epsilon <= 0 in {plural(int(singular.sum()), 'channel')}")
    return found, affected | negative | singular


def check(graph: ModelGraph, context: TrainingContext) -> Iterable[Diagnostic]:
    for bn in graph.bn_layers():
        arrays = graph.bn_weights(bn)
        if arrays is None:
            continue
        epsilon = bn.config.get("epsilon", 1e-3)
        found, affected = faults(arrays, float(epsilon) if isinstance(epsilon, (int, float)) else 1e-3)
        if not found:
            continue
        yield RULE.diagnostic(
            f"BN layer '{bn.name}' has invalid weights in {int(affected.sum())} of {plural(affected.size, 'channel')}",
            detail=f"{'; '.join(found)}. Those channels output NaN or garbage in inference; the training that wrote "
            "them diverged or the file is corrupt.",
            layer=bn.path,
            channels=int(affected.sum()),
            settings=settings([bn], "epsilon"),
        )


RULE = Rule(
    code="BN006",
    name="invalid-moving-stats",
    severity=Severity.ERROR,
    summary="NaN/Inf in a BN layer's weights, or a negative moving variance.",
    what=(
        "Reads the weights of every BN layer (only those arrays, including Batch "
        "Renormalization's extra statistics) and finds NaN or Inf values, a negative "
        "moving_variance, or moving_variance + epsilon <= 0. The message names the layer "
        "and how many channels are affected."
    ),
    why=(
        "In inference BN computes gamma * (x - moving_mean) / sqrt(moving_variance + epsilon) "
        "+ beta. A NaN or Inf anywhere, or a negative value under the square root, turns "
        "that channel's output into NaN, which spreads to every prediction. Such values come "
        "from a diverged training run (exploding loss, a learning rate that is too high, "
        "float16 overflow) or a damaged file, and nothing in Keras warns when the model is saved "
        "or loaded."
    ),
    fix_text="None: restore the weights from an earlier checkpoint or retrain.",
    fix_safety="No automatic fix.",
    examples=(
        Example(
            "negative and NaN moving variance after a diverged run",
            DENSE_BN + HEAD + "gamma, beta, mean, var = bn.get_weights()\n"
            "var[:3] = [-0.5, np.nan, 1.0]\nbn.set_weights([gamma, beta, mean, var])",
        ),
        Example(
            "Inf in gamma",
            DENSE_BN + HEAD + "gamma, beta, mean, var = bn.get_weights()\n"
            "gamma[0] = np.inf\nbn.set_weights([gamma, beta, mean, var])",
        ),
        Example(
            "healthy statistics",
            DENSE_BN + HEAD + "gamma, beta, mean, var = bn.get_weights()\n"
            "bn.set_weights([gamma, beta, mean + 0.3, var * 2.0])",
            fires_on=frozenset(),
        ),
    ),
    check_model=check,
)
