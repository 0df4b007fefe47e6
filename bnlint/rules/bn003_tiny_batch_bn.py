from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..context import TrainingContext
from ..diagnostics import Diagnostic, Severity
from ..graph import ModelGraph
from ._scripts import at, bn_phrase, full_label, short_label, train_verb, training_call
from ._shared import by_owner, freeze_fix, settings, training_bn, trains, where
from .base import Example, Rule
from .bn002_slow_bn_momentum import created

if TYPE_CHECKING:  # the script interpreter loads only when a script is linted
    from ..scripts.objects import ScriptFacts


def batch_size(graph: ModelGraph, context: TrainingContext) -> tuple[int, str] | None:
    if context.batch_size is not None:
        return context.batch_size, context.sources.get("batch_size", "given")
    fixed = graph.input_batch_size()
    return (fixed, "the model's Input signature") if fixed else None


def consequence(size: int) -> tuple[Severity | None, str]:
    """(severity override, what a batch of `size` does to BN), for models and scripts."""
    if size == 1:
        return Severity.ERROR, (
            "with batch size 1 the batch variance is zero for Dense features (and tiny for "
            "convolutions): training normalizes with statistics of a single sample"
        )
    return None, (
        f"statistics of {size} samples are noisy estimates, and the moving averages used at "
        f"inference drift from what training saw"
    )


def remedy(pretrained: bool, min_batch_size: int) -> str:
    if pretrained:
        return "Freeze these pretrained BN layers (trainable=False keeps them in inference mode)."
    return (
        f"Use a batch of at least {min_batch_size}, Batch Renormalization (renorm=True, with a warm-up "
        "schedule) or GroupNormalization."
    )


def check(graph: ModelGraph, context: TrainingContext) -> Iterable[Diagnostic]:
    found = batch_size(graph, context)
    if found is None or found[0] >= context.min_batch_size:
        return
    size, source = found
    # Batch Renormalization is this rule's own advice for small batches (batch 1 still breaks it).
    candidates = [bn for bn in graph.bn_layers() if size == 1 or not bn.config.get("renorm")]
    for owner, group in by_owner(graph, training_bn(graph, candidates)).items():
        path, subject, named = where(owner, group)
        severity, effect = consequence(size)
        advice = remedy(owner is not None, context.min_batch_size)
        fix = freeze_fix(group, "pretrained statistics kept") if owner is not None else None
        yield RULE.diagnostic(
            f"{subject} {trains(group)} on batches of {size}",
            detail=f"batch size {size} (from {source}; minimum {context.min_batch_size}): {effect}. {advice}{named}",
            layer=path,
            severity=severity,
            fix=fix,
            settings=settings(group, "trainable", "renorm"),
        )


def check_script(facts: ScriptFacts, context: TrainingContext) -> Iterable[Diagnostic]:
    from ..scripts.training import runs

    for run in runs(facts, context):
        size = run.context.batch_size
        if size is None or size >= context.min_batch_size:
            continue
        source = run.context.sources.get("batch_size", "given")
        # (headline subject, what the detail says first and last, pretrained)
        groups = [
            (
                f"{bn_phrase(b)} of {'pretrained ' if b.pretrained else ''}base {short_label(b.base)}",
                "",
                full_label(b.base),
                b.pretrained,
            )
            for b in run.bases
            if b.mode.updates_stats
        ]
        for pretrained in (True, False):
            own = [bn for bn, mode in run.bns if mode.updates_stats and (bn in run.loaded) == pretrained]
            if own:
                subject, where_created = created(own)
                loaded = " (weights loaded before)" if pretrained else ""
                groups.append((subject + loaded, f"{where_created}; " if where_created else "", "", pretrained))
        for subject, first, last, pretrained in groups:
            severity, effect = consequence(size)
            detail = (
                f"{first}trained in {training_call(run.train)} with batch size {size} (from {source}; minimum "
                f"{context.min_batch_size}): {effect}. {remedy(pretrained, context.min_batch_size)}{last}"
            )
            headline = f"{subject} {train_verb(subject)} on batches of {size}"
            yield at(RULE.diagnostic(headline, detail=detail, severity=severity), run.train.pos)


RULE = Rule(
    code="BN003",
    name="tiny-batch-bn",
    severity=Severity.WARNING,
    summary="BN layers train on batches smaller than min-batch-size (default 16).",
    what=(
        "Finds BN layers that update their statistics during `fit()` while the batch size "
        "(from --batch-size, pyproject.toml, the script, or a fixed batch dimension in the "
        "model's Input) is below `min-batch-size`. Batch size 1 is an error."
    ),
    why=(
        "BN normalizes each batch with its own mean and variance. Small batches give noisy "
        "estimates, so training sees a different normalization than inference, and the moving "
        "averages absorb that noise. With one sample per batch a Dense feature has zero "
        "variance. Detection and segmentation models that only fit a few images per GPU are "
        "the classic case, and the reason Batch Renormalization and GroupNormalization exist."
    ),
    fix_text=(
        "For BN inside a pretrained base: freeze those BN layers (inference mode). Otherwise "
        "the message suggests Batch Renormalization with the paper's warm-up schedule "
        "(rmax=1, dmax=0 for ~5,000 steps, then up to rmax=3, dmax=5) or GroupNormalization."
    ),
    fix_safety="Safe: freezing BN does not change inference-mode predictions.",
    examples=(
        Example(
            "BN trained with a fixed batch of 4",
            "inp = keras.Input((16,), batch_size=4)\nx = layers.Dense(8)(inp)\nx = layers.BatchNormalization()(x)\n"
            "model = keras.Model(inp, layers.Dense(2)(x))",
        ),
        Example(
            "fine-tuned base with batch size 8",
            "base = make_base()\ninp = keras.Input((8, 8, 3))\nx = base(inp)\n"
            "x = layers.GlobalAveragePooling2D()(x)\nmodel = keras.Model(inp, layers.Dense(2)(x))",
            context={"batch_size": 8},
        ),
        Example(
            "batch size 4 with Batch Renormalization",
            "inp = keras.Input((16,), batch_size=4)\nx = layers.Dense(8)(inp)\n"
            "x = layers.BatchNormalization(renorm=True)(x)\nmodel = keras.Model(inp, layers.Dense(2)(x))",
            fires_on=frozenset(),
        ),
        Example(
            "batch size 32",
            "inp = keras.Input((16,), batch_size=32)\nx = layers.Dense(8)(inp)\nx = layers.BatchNormalization()(x)\n"
            "model = keras.Model(inp, layers.Dense(2)(x))",
            fires_on=frozenset(),
        ),
        Example(
            "batch size 4, but the BN layers are frozen",
            "base = make_base()\nbase.trainable = False\ninp = keras.Input((8, 8, 3))\nx = base(inp, training=False)\n"
            "x = layers.GlobalAveragePooling2D()(x)\nmodel = keras.Model(inp, layers.Dense(2)(x))",
            fires_on=frozenset(),
            context={"batch_size": 4},
        ),
        Example(
            "whole pretrained model fine-tuned with batches of 4 (script)",
            """import keras

gen = keras.preprocessing.image.ImageDataGenerator(rescale=1 / 255)
train = gen.flow_from_directory("data/train", target_size=(224, 224), batch_size=4)
model = keras.applications.ResNet50(weights="imagenet", classes=1000)
model.compile(keras.optimizers.SGD(1e-3), "categorical_crossentropy")
model.fit(train, epochs=3)
""",
            kind="script",
        ),
        Example(
            "batches of 4, but the base is frozen (script)",
            """import keras
from keras import layers

gen = keras.preprocessing.image.ImageDataGenerator(rescale=1 / 255)
train = gen.flow_from_directory("data/train", target_size=(224, 224), batch_size=4)
base = keras.applications.ResNet50(include_top=False, input_shape=(224, 224, 3))
base.trainable = False
inputs = keras.Input((224, 224, 3))
x = layers.GlobalAveragePooling2D()(base(inputs, training=False))
model = keras.Model(inputs, layers.Dense(3, activation="softmax")(x))
model.compile("adam", "categorical_crossentropy")
model.fit(train, epochs=3)
""",
            fires_on=frozenset(),
            kind="script",
        ),
    ),
    check_model=check,
    check_script=check_script,
)
