from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..context import TrainingContext
from ..diagnostics import Diagnostic, Edit, Fix, Severity
from ..graph import Generation, ModelGraph
from ._scripts import at, training_call
from .base import Example, Rule

if TYPE_CHECKING:  # the script interpreter loads only when a script is linted
    from ..scripts.objects import Event, Model, Obj, ScriptFacts, SetTrainable, Train


def _consumer(facts: ScriptFacts, obj: Obj, after: int, before: Train) -> Event | None:
    """A compile or training of another model containing `obj` between a change and a
    training: the change was made for that model (the GAN pattern)."""
    from ..scripts.objects import Compile, Train

    for event in facts.events[after + 1 : before.seq]:
        if isinstance(event, (Compile, Train)) and event.model is not before.model:
            if obj is event.model or obj in event.model.members:
                return event
    return None


def _last(facts: ScriptFacts, kind: type, model: Model, before: int) -> Event | None:
    return next((e for e in reversed(facts.events[:before]) if isinstance(e, kind) and e.model is model), None)


def check_script(facts: ScriptFacts, context: TrainingContext) -> Iterable[Diagnostic]:
    from ..scripts.objects import Compile, SetTrainable, Train

    keras3 = facts.generation is Generation.KERAS3
    reported: set = set()
    for train in facts.trainings():
        compiled = _last(facts, Compile, train.model, train.seq)
        if compiled is None or train.compiled is None:
            continue
        # What the training runs with was fixed at the compile (Keras 2) or at the first
        # training after it (Keras 3); changes since then are the suspects.
        traced = keras3 and train.traced is not None
        reference = train.traced if traced else train.compiled
        since = compiled.seq
        if traced:
            since = next(  # (the first training may be in another cell of a notebook cut into files)
                (
                    e.seq
                    for e in facts.events[compiled.seq : train.seq]
                    if isinstance(e, Train) and e.model is train.model
                ),
                since,
            )
        for obj, now in train.current.items():
            before = reference.get(obj)
            if before is None or not (before.known and now.known) or before.same(now):
                continue
            change = next(
                (e for e in facts.events[since : train.seq] if isinstance(e, SetTrainable) and obj in e.targets),
                None,
            )
            if change is None or change.pos in reported:
                continue
            consumer = _consumer(facts, obj, change.seq, train)
            if (keras3 and not traced) != (consumer is not None):
                continue  # Keras 3 before the first training: the change is what the user wants
            reported.add(change.pos)
            # The compile goes after the last trainable change before the training (a BN freeze
            # loop often follows the unfreeze), so that it compiles what the training runs.
            last = next(e for e in reversed(facts.events[since : train.seq]) if isinstance(e, SetTrainable))
            yield at(_diagnostic(facts, train, change, compiled, consumer, last), change.pos)


def _diagnostic(
    facts: ScriptFacts,
    train: Train,
    change: SetTrainable,
    compiled: Event | None,
    consumer: Event | None,
    last: SetTrainable,
) -> Diagnostic:
    from ..scripts.objects import Compile

    model = train.model.name
    trained = f"{training_call(train)} at {train.pos.where}"
    compile_line = f"{model}.compile() ({compiled.pos.where})" if compiled else f"{model}.compile()"
    if consumer is not None:  # Keras 3, GAN pattern
        return RULE.diagnostic(
            f"on Keras 3 this trainable change also applies to '{model}', which then does not train",
            detail=f"`{change.text}` (after {compile_line}) is meant for the model compiled at {consumer.pos.where}, "
            f"but the training function of '{model}' is built at its first training, {trained}, with this flag "
            f"in force, so '{model}' does not train at all (measured with Keras 3.15.1: weight change 0.0, against "
            f"0.0019 on tf_keras). Set the flag back right before {model}.{train.method}(...) (and again before "
            "training the other model), or write a custom train_step.",
        )
    if facts.generation is Generation.KERAS3:
        why = (
            "Keras 3 keeps the trainable state of the first training after compile() "
            f"(line {train.traced_at or '?'}), so this change is ignored"
        )
    else:
        why = "Keras 2 always trains with the trainable state of the last compile(), so this change is ignored"
    fix = None
    if compiled is not None and isinstance(compiled, Compile) and not last.pos.origin:
        # Unsafe: the model then trains what the flags say, which is a change in training.
        fix = Fix(
            description=f"call {model}.compile(...) again after {last.pos.where}",
            applicability="unsafe",
            edits=(Edit("text", f"{last.pos.line}", "insert-statement", None, compiled.text),),
        )
    return RULE.diagnostic(
        f"trainable change is ignored: '{model}' is not compiled again before training",
        detail=f"`{change.text}` comes after {compile_line} and {trained} runs without a new compile(): {why}. "
        f"Call {model}.compile(...) again after changing trainable.",
        fix=fix,
    )


def check_model(graph: ModelGraph, context: TrainingContext) -> Iterable[Diagnostic]:
    """A live tf_keras model (bnlint.check) whose trainable flags changed since compile():
    fit() will run the compiled ones. Only the outermost changed layer holding BN is named
    (`base.trainable = True` changes every layer inside the base too)."""
    changed = {path: (compiled, now) for path, compiled, now in graph.trainable_since_compile}
    if not changed:  # every model file, and most live models: no walk over the layers
        return
    for layer in graph.root.walk():
        # The model's own flag changed after its own compile() is the GAN idiom: frozen for a
        # combined model, trained by its own fit() with the compiled flags, as intended.
        if layer.parent is None or layer.path not in changed or layer.parent.path in changed:
            continue
        if not (layer.is_bn or layer.bn_layers()):
            continue
        compiled, now = changed[layer.path]
        yield RULE.diagnostic(
            f"'{layer.name}' was set trainable={now} after compile(): fit() will run it with trainable={compiled}",
            layer=layer.path,
            detail=(
                "tf_keras' fit() restores the trainable flags of the last compile(), so the change is ignored "
                f"({'its BN layers stay frozen' if not compiled else 'its BN layers keep training'}). "
                "Call compile() again after changing trainable; bnlint checked the model as fit() will run it."
            ),
        )


RULE = Rule(
    code="BN004",
    name="trainable-after-compile",
    severity=Severity.ERROR,
    summary="(scripts, live models) trainable is changed after compile() and training runs before any recompile.",
    what=(
        "Follows the order of `compile()`, `fit()` / `train_on_batch()` and `trainable` assignments in a "
        "script. Fires when a model trains with a trainable state other than the one the script set, "
        "because the change came after `compile()`: ignored on Keras 2 (tf_keras) always, and on Keras 3 "
        "once the model has trained since its compile. On Keras 3 a change made before the first "
        "training does take effect, which breaks the classic GAN pattern: the discriminator is compiled, "
        "frozen for the combined model, and then never trains itself. On a live tf_keras model "
        "(`bnlint.check(model)`) it compares each layer's flag with the one recorded by `compile()`, which "
        "`fit()` restores, and the other rules see the model as `fit()` will run it. Saved files record no "
        "compile-time flags: the rule does not apply to them."
    ),
    why=(
        "`trainable` is read when the training function is built, not at every step. tf_keras stores the "
        "trainable state at `compile()` and restores it for every training call; Keras 3 builds the "
        "training function at the first `fit()` / `train_on_batch()` after `compile()` (measured with "
        "Keras 3.15.1 and tf_keras 2.21). Unfreezing a base for fine-tuning without recompiling therefore "
        "fine-tunes nothing, and freezing after compile freezes nothing. GAN tutorials written for "
        "Keras 2 rely on the opposite: `d.trainable = False` after `d.compile()` only affects the combined "
        "model. On Keras 3 it freezes `d` too: its weights change by 0.0 instead of 0.0019."
    ),
    fix_text=(
        "Call `compile(...)` again after changing `trainable` (the fix inserts the same compile call "
        "after the last trainable change before the training). "
        "GAN pattern on Keras 3: set `d.trainable = True` right before `d.train_on_batch(...)` and back to "
        "False before training the combined model, or write a custom `train_step`."
    ),
    fix_safety="Unsafe: recompiling resets the optimizer state, which is usually wanted when fine-tuning starts.",
    examples=(
        Example(
            "unfrozen for fine-tuning without recompiling",
            """import keras

base = keras.applications.ResNet50(include_top=False, input_shape=(224, 224, 3))
base.trainable = False
inputs = keras.Input((224, 224, 3))
x = base(inputs, training=False)
outputs = keras.layers.Dense(5)(keras.layers.GlobalAveragePooling2D()(x))
model = keras.Model(inputs, outputs)
model.compile("adam", "sparse_categorical_crossentropy")
model.fit(train_ds, epochs=5)
base.trainable = True
model.fit(train_ds, epochs=5)
""",
            kind="script",
        ),
        Example(
            "GAN: discriminator compiled, then frozen for the combined model",
            """import keras
from keras import layers

d = keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(), layers.Dense(1, activation="sigmoid")])
d.compile("adam", "binary_crossentropy")
d.trainable = False
g = keras.Sequential([keras.Input((64,)), layers.Dense(784), layers.Reshape((28, 28, 1))])
z = keras.Input((64,))
gan = keras.Model(z, d(g(z)))
gan.compile("adam", "binary_crossentropy")
for step in range(1000):
    d.train_on_batch(real_and_fake, labels)
    gan.train_on_batch(noise, misleading_labels)
""",
            fires_on=frozenset({"keras3"}),
            kind="script",
        ),
        Example(
            "recompiled after unfreezing",
            """import keras

base = keras.applications.ResNet50(include_top=False, input_shape=(224, 224, 3))
base.trainable = False
inputs = keras.Input((224, 224, 3))
outputs = keras.layers.Dense(5)(keras.layers.GlobalAveragePooling2D()(base(inputs, training=False)))
model = keras.Model(inputs, outputs)
model.compile("adam", "sparse_categorical_crossentropy")
model.fit(train_ds, epochs=5)
base.trainable = True
for layer in base.layers:
    if isinstance(layer, keras.layers.BatchNormalization):
        layer.trainable = False
model.compile(keras.optimizers.Adam(1e-5), "sparse_categorical_crossentropy")
model.fit(train_ds, epochs=5)
""",
            fires_on=frozenset(),
            kind="script",
        ),
    ),
    check_script=check_script,
    check_model=check_model,
)
