from __future__ import annotations

from collections.abc import Iterable

from .. import momentum as mom
from ..context import TrainingContext
from ..diagnostics import Diagnostic, Edit, Fix, Severity
from ..graph import ModelGraph
from ._shared import by_momentum, by_owner, training_bn, trains, where
from .base import Example, Rule

SMALL_DATASET = 10_000
NO_CONTEXT_MIN_MOMENTUM = 0.99


def check(graph: ModelGraph, context: TrainingContext) -> Iterable[Diagnostic]:
    horizon = context.horizon()
    small = context.dataset_size is not None and context.dataset_size < SMALL_DATASET
    for owner, layers in by_owner(graph, training_bn(graph, graph.bn_layers())).items():
        for m, group in by_momentum(layers).items():
            target = mom.suggested(horizon[0] if horizon else None)
            if target >= m:
                continue  # the fix would not lower the momentum: nothing to gain
            if horizon:
                steps, how = horizon
                if steps >= mom.FORGET_STEPS * mom.time_constant(m):
                    continue
                assumed = (
                    f"after {how}, {mom.pct(mom.remaining(m, steps))} of the moving statistics "
                    f"still come from the pretrained data (m^T = {m:g}^{steps})"
                )
            elif small:
                assumed = (
                    f"with {context.dataset_size} samples ({context.sources.get('dataset_size')}; "
                    f"< {SMALL_DATASET}) the statistics need {mom.steps_to_one_percent(m)} updates to forget the "
                    f"pretrained data"
                )
            elif owner is not None and m >= NO_CONTEXT_MIN_MOMENTUM:
                assumed = (
                    "no training horizon is known (pass --steps, or --dataset-size and --batch-size), and "
                    "fine-tuning runs on small datasets are often only a few hundred steps"
                )
            else:
                continue
            path, phrase = where(owner, group)
            message = (
                f"{phrase} {trains(group)} with {mom.describe(m)}: {assumed}. "
                f"Lower the momentum to {target:g} so the statistics follow your data."
            )
            fix = Fix(
                description=f"momentum {m:g} -> {target:g} on {len(group)} BN layer(s)",
                applicability="unsafe",
                edits=tuple(Edit("config", bn.path, "momentum", m, target) for bn in group),
            )
            yield RULE.diagnostic(message, layer=path, fix=fix, momentum=m, target=target)


RULE = Rule(
    code="BN002",
    name="slow-bn-momentum",
    severity=Severity.WARNING,
    summary="BN momentum too slow for the planned training: moving statistics stay pretrained.",
    what=(
        "Finds BN layers that update their statistics during `fit()` with a momentum m whose "
        "time constant 1/(1-m) is long compared with the training: T < 5/(1-m) planned steps, "
        "or a dataset under 10,000 samples. Without any training context it fires only for BN "
        "layers of a pretrained base being fine-tuned with m >= 0.99, and says what it assumed."
    ),
    why=(
        "Moving statistics are an exponential average: after T updates a fraction m^T of the "
        "initial (ImageNet) value remains. With Keras' default m = 0.99, 37% is left after 100 "
        "steps and 1% only after 459; keras.applications ship 0.999 (MobileNetV2/V3) and "
        "0.9997 (NASNet). On a small dataset from another domain (medical, satellite) the "
        "model is evaluated with statistics that never caught up with the data, so validation "
        "accuracy lags far behind training accuracy. PyTorch's default corresponds to m = 0.9."
    ),
    fix_text="Sets momentum to max(0.9, 1 - 5/T) when the horizon T is known, else 0.9.",
    fix_safety=(
        "Unsafe: inference is unchanged, but the statistics will move faster in the next "
        "training run, which is the point and must be accepted."
    ),
    examples=(
        Example(
            "pretrained base fine-tuned with momentum 0.99, no context",
            "base = make_base()\ninp = keras.Input((8, 8, 3))\nx = base(inp)\n"
            "x = layers.GlobalAveragePooling2D()(x)\nmodel = keras.Model(inp, layers.Dense(2)(x))",
        ),
        Example(
            "BN with momentum 0.99 trained for 120 steps",
            "inp = keras.Input((16,))\nx = layers.Dense(8)(inp)\nx = layers.BatchNormalization(momentum=0.99)(x)\n"
            "model = keras.Model(inp, layers.Dense(2)(x))",
            context={"steps": 120},
        ),
        Example(
            "momentum 0.9 trained for 1,000 steps",
            "inp = keras.Input((16,))\nx = layers.Dense(8)(inp)\nx = layers.BatchNormalization(momentum=0.9)(x)\n"
            "model = keras.Model(inp, layers.Dense(2)(x))",
            fires_on=frozenset(),
            context={"steps": 1000},
        ),
        Example(
            "frozen base: its BN layers do not train",
            "base = make_base()\nbase.trainable = False\ninp = keras.Input((8, 8, 3))\nx = base(inp, training=False)\n"
            "x = layers.GlobalAveragePooling2D()(x)\nmodel = keras.Model(inp, layers.Dense(2)(x))",
            fires_on=frozenset(),
            context={"steps": 50},
        ),
    ),
    check_model=check,
)
