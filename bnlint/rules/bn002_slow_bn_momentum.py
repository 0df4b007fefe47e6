from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .. import momentum as mom
from ..context import FROM_OPTIMIZER, TrainingContext
from ..diagnostics import Diagnostic, Edit, Fix, Severity
from ..graph import ModelGraph
from ._scripts import at, bn_phrase, full_label, short_label, train_verb, training_call
from ._shared import (
    by_momentum,
    by_owner,
    if_fine_tuned,
    plural,
    settings,
    statistics_state,
    training_bn,
    trains,
    where,
)
from .base import Example, Rule

if TYPE_CHECKING:  # the script interpreter loads only when a script is linted
    from ..scripts.objects import ScriptFacts

SMALL_DATASET = 10_000
NO_CONTEXT_MIN_MOMENTUM = 0.99


# Where the moving statistics a BN layer starts from came from, as a message says it.
ORIGINS = {
    "pretrained": "the pretrained data",
    "stored": "the statistics stored in the file",
    "initial": "their initial values (mean 0, variance 1)",
}


def assess(
    m: float, context: TrainingContext, pretrained_no_context: bool, origin: str = "pretrained"
) -> tuple[str, float] | None:
    """(what bnlint assumed, the momentum to suggest) when momentum m is too slow for the
    training in `context`; None when it is fine. Models and scripts both decide here.
    `origin` says what the statistics start from (ORIGINS)."""
    horizon = context.horizon()
    small = context.dataset_size is not None and context.dataset_size < SMALL_DATASET
    target = mom.suggested(horizon[0] if horizon else None, context.horizon_factor)
    start = ORIGINS[origin]
    if target >= m:
        return None  # the fix would not lower the momentum: nothing to gain
    if horizon:
        steps, how = horizon
        if steps >= context.horizon_factor * mom.time_constant(m):
            return None
        left = f"{mom.pct(mom.remaining(m, steps))} of the moving statistics"
        if context.sources.get("steps") == FROM_OPTIMIZER:  # steps already taken, not planned
            return f"after {how}, {left} still come from {start}: they have barely moved (m^T = {m:g}^{steps})", target
        return f"after {how}, {left} still come from {start} (m^T = {m:g}^{steps})", target
    if small:
        return (
            f"with {context.dataset_size} samples ({context.sources.get('dataset_size')}; "
            f"< {SMALL_DATASET}) the statistics need {mom.steps_to_one_percent(m)} updates to forget {start}"
        ), target
    if pretrained_no_context and m >= NO_CONTEXT_MIN_MOMENTUM:
        return (
            "no training horizon is known (pass --steps, or --dataset-size and --batch-size), and "
            "fine-tuning runs on small datasets are often only a few hundred steps"
        ), target
    return None


def check(graph: ModelGraph, context: TrainingContext) -> Iterable[Diagnostic]:
    for owner, layers in by_owner(graph, training_bn(graph, graph.bn_layers())).items():
        for m, group in by_momentum(layers).items():
            if context.sources.get("steps") == FROM_OPTIMIZER:  # steps already taken: from where training began
                origin = "pretrained" if owner is not None else "initial"
            else:  # steps to come: from what the file holds now
                state = statistics_state(graph, group)
                origin = "initial" if state == "initial" else "pretrained" if owner is not None else "stored"
            found = assess(m, context, pretrained_no_context=owner is not None and origin != "initial", origin=origin)
            if found is None:
                continue
            assumed, target = found
            path, subject, named = where(owner, group)
            headline = f"{if_fine_tuned(graph)}{subject} {trains(group)} with slow momentum {m:g}"
            detail = (
                f"{mom.describe(m)}: {assumed}. Lower the momentum to {target:g} so the statistics follow your data."
                + named
            )
            fix = Fix(
                description=f"momentum {m:g} -> {target:g} on {len(group)} BN layer(s)",
                applicability="unsafe",
                edits=tuple(Edit("config", bn.path, "momentum", m, target) for bn in group),
            )
            severity = Severity.INFO if graph.exported else None
            yield RULE.diagnostic(
                headline,
                detail=detail,
                layer=path,
                fix=fix,
                severity=severity,
                momentum=m,
                target=target,
                settings=settings(group, "momentum", "trainable"),
            )


def created(layers: list) -> tuple[str, str]:
    """(headline subject, where they are created: '' when the subject says it), e.g.
    ('the BN layer created at line 12', ''), ('13 BN layers', 'created at line 12, 15, 18, ...')."""
    if len(layers) == 1 and not layers[0].in_loop:
        return f"the BN layer created at {layers[0].pos.where}", ""
    if any(bn.in_loop for bn in layers):  # a loop body runs once here: Keras makes one per iteration
        lines = ", ".join(map(str, dict.fromkeys(bn.pos.line for bn in layers)))
        return f"at least {len(layers)} BN layers", f"created in loops, at line {lines}"
    files = list(dict.fromkeys(bn.pos.origin.rsplit(":", 1)[0] for bn in layers if bn.pos.origin))
    if files:  # built by code of local modules, reached from the script's lines
        lines = ", ".join(map(str, dict.fromkeys(bn.pos.line for bn in layers)))
        return f"{len(layers)} BN layers", f"created in {', '.join(files)}, from line {lines}"
    lines = list(dict.fromkeys(bn.pos.line for bn in layers))
    shown = ", ".join(map(str, lines[:3])) + (", ..." if len(lines) > 3 else "")
    return f"{len(layers)} BN layers", f"created at line {shown}"


def check_script(facts: ScriptFacts, context: TrainingContext) -> Iterable[Diagnostic]:
    from ..scripts.training import runs

    """Only with a horizon or dataset size known (from the options or the script)."""
    reported: set = set()
    for run in runs(facts, context):
        if run.context.horizon() is None and run.context.dataset_size is None:
            continue
        # The script's own BN layers, one finding per momentum and per where their statistics
        # start: the initial 0/1, or weights loaded into them before this training.
        own: dict[tuple[float | None, bool], list] = {}
        for bn, mode in run.bns:
            if mode.updates_stats and bn not in reported:
                own.setdefault((bn.momentum, bn in run.loaded), []).append(bn)
        # (owner, momentum, headline subject, what the detail says first and last, location, start)
        groups = [
            (tuple(layers), m, *_subject(layers), "", layers[0].pos, "pretrained" if loaded else "initial")
            for (m, loaded), layers in own.items()
        ]
        groups += [
            (
                b.base,
                max(b.base.momentum),
                f"{bn_phrase(b)} of base {short_label(b.base)}",
                "",
                full_label(b.base),
                run.train.pos,
                "pretrained" if b.pretrained else "initial",
            )
            for b in run.bases
            if b.mode.updates_stats and b.base.momentum
        ]
        for owner, m, subject, first, last, location, start in groups:
            if owner in reported or m is None:
                continue
            found = assess(m, run.context, pretrained_no_context=False, origin=start)
            if found is None:
                continue
            layers = owner if isinstance(owner, tuple) else ()
            reported.update(layers or (owner,))
            assumed, target = found
            default = ", Keras' default" if layers and not any(bn.explicit for bn in layers) else ""
            remedy = (
                f": `BatchNormalization(momentum={target:g})`."
                if layers
                else f" (set layer.momentum = {target:g} on its BN layers before compile())."
            )
            detail = (
                f"{first}trained in {training_call(run.train)} at {run.train.pos.where} with "
                f"{mom.describe(m)[:-1]}{default}): {assumed}. Lower the momentum to {target:g} so the statistics "
                f"follow your data{remedy}{last}"
            )
            headline = f"{subject} {train_verb(subject)} with slow momentum {m:g}"
            fix = _script_fix(layers, owner, target)
            yield at(RULE.diagnostic(headline, detail=detail, momentum=m, target=target, fix=fix), location)


def _script_fix(layers: tuple, owner, target: float) -> Fix | None:
    """momentum= on the script's own BN constructors, or the loop that sets it on a base's BN
    layers right after the base is built. Unsafe: it changes what training does."""
    if layers:
        sites = dict.fromkeys(bn.pos for bn in layers if bn.pos is not None and not bn.pos.origin)
        if not sites or len(sites) < len({bn.pos for bn in layers}):
            return None  # some are created in another file
        edits = tuple(Edit("text", f"{p.line}:{p.col}", "call-kwarg", None, f"momentum={target:g}") for p in sites)
        return Fix(f"momentum {target:g} on {plural(len(sites), 'BatchNormalization call')}", "unsafe", edits)
    base = owner
    if base.pos.origin or base.name == "?" or base.kind == "hub":
        return None
    code = (
        f"for layer in {base.name}.layers:\n    if isinstance(layer, BatchNormalization): layer.momentum = {target:g}"
    )
    edit = Edit("text", str(base.pos.line), "insert-statement", None, code)
    return Fix(f"momentum {target:g} on the BN layers of '{base.name}'", "unsafe", (edit,))


def _subject(layers: list) -> tuple[str, str]:
    """(headline subject, the start of the detail) for BN layers a script creates."""
    subject, where_created = created(layers)
    return subject, f"{where_created}; " if where_created else ""


RULE = Rule(
    code="BN002",
    name="slow-bn-momentum",
    severity=Severity.WARNING,
    summary="BN momentum too slow for the planned training: moving statistics stay pretrained.",
    what=(
        "Finds BN layers that update their statistics during `fit()` with a momentum m whose "
        "time constant 1/(1-m) is long compared with the training: T < k/(1-m) planned steps "
        "(k = `horizon-factor`, default 5: e^-5 = 0.7% of the old statistics left), "
        "or a dataset under 10,000 samples. Without any training context it fires only for BN "
        "layers of a pretrained base being fine-tuned with m >= 0.99, and says what it assumed. "
        "The message says where the statistics start: the pretrained data (a base), the "
        "initial 0/1 (a network trained from scratch), or what the file stores; a horizon "
        "read from the optimizer's iteration count is steps already taken, not planned. On a "
        "model saved for inference (no compile configuration, no optimizer state) the finding "
        "is information, not a warning."
    ),
    why=(
        "Moving statistics are an exponential average: after T updates a fraction m^T of the "
        "initial (ImageNet) value remains. With Keras' default m = 0.99, 37% is left after 100 "
        "steps and 1% only after 459; keras.applications ship 0.999 (MobileNetV2/V3) and "
        "0.9997 (NASNet). On a small dataset from another domain (medical, satellite) the "
        "model is evaluated with statistics that never caught up with the data, so validation "
        "accuracy lags far behind training accuracy. PyTorch's default corresponds to m = 0.9. "
        "Measured (bnlint's transfer experiment, README: a BN CNN fine-tuned on 480 images, "
        "trainable BN, 4 seeds): at batch size 32 momentum 0.9 scored 18 to 42 points of "
        "validation accuracy above 0.99, on every domain shift including none; at batch size 8, "
        "1.5 to 8 points. Keeping BN frozen (or recalibrated, then frozen) was better still "
        "while `bnlint probe` scores the data below its threshold."
    ),
    fix_text=(
        "Sets momentum to max(0.9, 1 - k/T) when the horizon T is known (k = `horizon-factor`, default 5), "
        "else 0.9. In a script: `momentum=` on the BN constructors, or a loop setting `layer.momentum` on a "
        "base's BN layers right after it is built."
    ),
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
        Example(
            "BN with the default momentum 0.99, 500 samples for 3 epochs (script)",
            """import numpy as np
import keras
from keras import layers

x_train = np.random.rand(500, 20)
y_train = np.random.randint(0, 2, size=(500,))
model = keras.Sequential([keras.Input((20,)), layers.Dense(64), layers.BatchNormalization(), layers.Dense(1)])
model.compile("adam", "binary_crossentropy")
model.fit(x_train, y_train, batch_size=32, epochs=3)
""",
            kind="script",
        ),
        Example(
            "BN with momentum 0.9, same run (script)",
            """import numpy as np
import keras
from keras import layers

x_train = np.random.rand(500, 20)
y_train = np.random.randint(0, 2, size=(500,))
model = keras.Sequential([keras.Input((20,)), layers.Dense(64), layers.BatchNormalization(momentum=0.9), layers.Dense(1)])
model.compile("adam", "binary_crossentropy")
model.fit(x_train, y_train, batch_size=32, epochs=3)
""",
            fires_on=frozenset(),
            kind="script",
        ),
    ),
    check_model=check,
    check_script=check_script,
)
