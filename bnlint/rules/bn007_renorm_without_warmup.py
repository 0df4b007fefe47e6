from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..context import TrainingContext
from ..diagnostics import Diagnostic, Severity
from ..graph import Layer, ModelGraph
from ._scripts import at
from ._shared import mode, where
from .base import Example, Rule

if TYPE_CHECKING:  # the script interpreter loads only when a script is linted
    from ..scripts.objects import ScriptFacts

WARMUP_STEPS = 5000  # the paper keeps rmax=1, dmax=0 for the first ~5k steps
DENSE = "inp = keras.Input((16,))\nx = layers.Dense(8)(inp)\n"
HEAD = "model = keras.Model(inp, layers.Dense(2)(x))"


def clipping(layer: Layer) -> tuple[float | None, float | None]:
    """(rmax, dmax) from the saved config; None means unbounded (Keras' default)."""
    return clipping_of(layer.config.get("renorm_clipping"))


def clipping_of(values: Any) -> tuple[float | None, float | None]:
    """(rmax, dmax) of a renorm_clipping dict (saved config or script literal)."""
    values = values or {}
    if not isinstance(values, dict):
        return None, None
    rmax, dmax = values.get("rmax"), values.get("dmax")
    return (
        float(rmax) if isinstance(rmax, (int, float)) else None,
        float(dmax) if isinstance(dmax, (int, float)) else None,
    )


def _bound(value: float | None) -> str:
    return "unbounded" if value is None else f"{value:g}"


def check(graph: ModelGraph, context: TrainingContext) -> Iterable[Diagnostic]:
    groups: dict[tuple[float | None, float | None], list[Layer]] = defaultdict(list)
    for bn in graph.bn_layers():
        if not bn.config.get("renorm") or mode(graph, bn).batch_stats is False:
            continue  # renorm only acts while BN normalizes with batch statistics
        rmax, dmax = clipping(bn)
        if rmax is not None and rmax <= 1 and dmax is not None and dmax <= 0:
            continue  # clipping starts closed: the warm-up state
        groups[(rmax, dmax)].append(bn)
    for (rmax, dmax), group in groups.items():
        path, subject, named = where(None, group)
        yield RULE.diagnostic(
            f"{subject} {'uses' if len(group) == 1 else 'use'} Batch Renormalization without a warm-up",
            detail=f"rmax={_bound(rmax)}, dmax={_bound(dmax)} from the first step: the corrections r and d are "
            "computed against moving statistics that still hold their initial values. The paper keeps rmax=1, "
            f"dmax=0 (plain BN) for about {WARMUP_STEPS:,} steps and then relaxes them gradually to rmax=3, dmax=5; "
            f"save the model with the closed clipping and widen it from a callback.{named}",
            layer=path,
            settings={"renorm": "True", "renorm_clipping": f"rmax={_bound(rmax)}, dmax={_bound(dmax)}"},
        )


def check_script(facts: ScriptFacts, context: TrainingContext) -> Iterable[Diagnostic]:
    if facts.renorm_schedule:
        return  # a callback in the script adjusts rmax/dmax
    for bn in facts.bns:
        values = bn.clipping if bn.clipping is not None else {}
        if bn.renorm is not True or not isinstance(values, dict):
            continue
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values.values()):
            continue  # variables or computed bounds: possibly scheduled
        rmax, dmax = clipping_of(values)
        if rmax is not None and rmax <= 1 and dmax is not None and dmax <= 0:
            continue
        yield at(
            RULE.diagnostic(
                "BatchNormalization(renorm=True) starts without a warm-up",
                detail=f"at {bn.pos.where} it clips with rmax={_bound(rmax)}, dmax={_bound(dmax)} from the first "
                "step, and no callback in this script widens them: the corrections r and d are computed against "
                "moving statistics that still hold their initial values. Start with renorm_clipping={'rmax': 1, "
                f"'rmin': 1, 'dmax': 0}} (plain BN) for about {WARMUP_STEPS:,} steps, then relax the bounds from a "
                "callback up to rmax=3, dmax=5 (the paper's schedule; use variables for the bounds so the change "
                "reaches the traced step).",
            ),
            bn.pos,
        )


RULE = Rule(
    code="BN007",
    name="renorm-without-warmup",
    severity=Severity.WARNING,
    summary="Batch Renormalization with wide clipping from step 0 (no warm-up).",
    what=(
        "Finds BN layers with `renorm=True` that normalize with batch statistics in "
        "training and whose saved `renorm_clipping` is already open: `rmax > 1` or "
        "`dmax > 0`, or missing (Keras then does not clip at all)."
    ),
    why=(
        "Batch Renormalization (Ioffe, 2017) corrects each batch's statistics towards the "
        "moving averages with factors r (clipped to [1/rmax, rmax]) and d (clipped to "
        "[-dmax, dmax]). At the start of training the moving averages hold their initial "
        "values (mean 0, variance 1), so large corrections push activations towards "
        "meaningless statistics. The paper therefore trains with rmax=1, dmax=0 (exactly "
        "plain BN) for the first ~5,000 steps and then relaxes the bounds gradually up to "
        "rmax=3, dmax=5. Keras applies the saved clipping from step 0 and has no schedule."
    ),
    fix_text=(
        "None for a saved model. In the training script, start with "
        "`renorm_clipping={'rmax': 1, 'rmin': 1, 'dmax': 0}` and widen the bounds from a callback."
    ),
    fix_safety="No automatic fix.",
    examples=(
        Example(
            "renorm with the paper's final clipping from step 0",
            DENSE + "x = layers.BatchNormalization(renorm=True, renorm_clipping={'rmax': 3.0, 'rmin': 1 / 3, "
            "'dmax': 5.0})(x)\n" + HEAD,
        ),
        Example(
            "renorm without clipping",
            DENSE + "x = layers.BatchNormalization(renorm=True)(x)\n" + HEAD,
        ),
        Example(
            "renorm saved in its warm-up state",
            DENSE + "x = layers.BatchNormalization(renorm=True, renorm_clipping={'rmax': 1.0, 'rmin': 1.0, "
            "'dmax': 0.0})(x)\n" + HEAD,
            fires_on=frozenset(),
        ),
        Example(
            "plain BN",
            DENSE + "x = layers.BatchNormalization()(x)\n" + HEAD,
            fires_on=frozenset(),
        ),
        Example(
            "small-batch detector head with renorm and the final clipping from step 0 (script)",
            """import keras
from keras import layers

inputs = keras.Input((64, 64, 3))
x = layers.Conv2D(32, 3, padding="same", use_bias=False)(inputs)
x = layers.BatchNormalization(renorm=True, renorm_clipping={"rmax": 3.0, "rmin": 1 / 3, "dmax": 5.0})(x)
x = layers.GlobalAveragePooling2D()(layers.ReLU()(x))
model = keras.Model(inputs, layers.Dense(4)(x))
model.compile("adam", "mse")
model.fit(train_ds, epochs=20)
""",
            kind="script",
        ),
        Example(
            "renorm bounds held in variables and widened by a callback (script)",
            """import keras
from keras import layers

rmax = keras.Variable(1.0, trainable=False)
dmax = keras.Variable(0.0, trainable=False)


class RenormWarmup(keras.callbacks.Callback):
    def on_train_batch_begin(self, batch, logs=None):
        step = int(self.model.optimizer.iterations)
        if step > 5000:
            rmax.assign(min(3.0, 1.0 + (step - 5000) / 10000))
            dmax.assign(min(5.0, (step - 5000) / 5000))


inputs = keras.Input((64, 64, 3))
x = layers.Conv2D(32, 3, padding="same", use_bias=False)(inputs)
x = layers.BatchNormalization(renorm=True, renorm_clipping={"rmax": rmax, "rmin": 0.0, "dmax": dmax})(x)
model = keras.Model(inputs, layers.Dense(4)(layers.GlobalAveragePooling2D()(x)))
model.compile("adam", "mse")
model.fit(train_ds, epochs=20, callbacks=[RenormWarmup()])
""",
            fires_on=frozenset(),
            kind="script",
        ),
    ),
    check_model=check,
    check_script=check_script,
)
