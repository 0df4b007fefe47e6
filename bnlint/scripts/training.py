"""What each training call of a script does to BN layers.

For every `fit()` / `train_on_batch()` this works out the trainable state actually in
force (Keras 2 restores the state of the last `compile()`; Keras 3 keeps the state of
the first training after it), asks `semantics.decide` for the mode of every base's BN
layers and of every BN layer the script creates, and builds that call's training
context. Rules read these runs; they never redo the semantics.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..context import TrainingContext
from ..graph import Generation
from ..semantics import BNMode, decide
from .objects import UNKNOWN, Base, BNLayer, Flags, Obj, ScriptFacts, Train, Use, bn_trainable


@dataclass
class BaseRun:
    base: Base
    uses: list[Use]
    flags: Flags
    trainable: int  # BN layers of the base with trainable=True
    total: int | None  # BN layers of the base, if known
    mode: BNMode
    pretrained: bool = True  # at the time of this training (weights may be loaded later)

    @property
    def guarded(self) -> list[Use]:
        return [u for u in self.uses if u.training is False]

    @property
    def unguarded(self) -> list[Use]:
        return [u for u in self.uses if u.training is not False]


@dataclass
class Run:
    train: Train
    bases: list[BaseRun]
    bns: list[tuple[BNLayer, BNMode]]
    context: TrainingContext

    @property
    def loaded(self) -> list[BNLayer]:
        """The script's own BN layers that train here with weights loaded before (`model.load_weights`)."""
        return [bn for bn, mode in self.bns if mode.updates_stats and loaded_before(bn.loaded_at, self.train)]


def loaded_before(loaded_at: int | None, train: Train) -> bool:
    return loaded_at is not None and loaded_at <= train.seq


def in_force(train: Train, generation: Generation) -> dict[Obj, Flags]:
    """The trainable flags this training call runs with (keras-formats.md §4)."""
    if generation is Generation.KERAS3:
        return train.traced or train.current
    return train.compiled or train.current


def runs(facts: ScriptFacts, context: TrainingContext) -> list[Run]:
    key = f"runs:{id(context)}"
    if key not in facts.cache:
        facts.cache[key] = [_run(facts, train, context) for train in facts.trainings()]
    return facts.cache[key]


def base_mode(facts: ScriptFacts, base: Base, uses: list[Use], flags: Flags) -> BaseRun | None:
    """The BN mode of a base wired by `uses` under `flags`; None when bnlint cannot tell."""
    parts = [u.upto for u in uses]
    start = min((u.start for u in uses), default=0)
    counts = bn_trainable(base, flags, None if None in parts or not parts else max(parts), start)
    if counts is None or not base.has_bn or any(u.training is UNKNOWN for u in uses):
        return None
    trainable, total = counts
    frozen = None if trainable else "trainable=False"
    guarded = bool(uses) and all(u.training is False and u.wiring == "call" for u in uses)
    guard = f"'{base.name}' is called with training=False" if guarded else None
    # A TF Hub layer passes `training` on only while it is trainable, on every Keras.
    generation = Generation.KERAS2 if base.kind == "hub" else facts.generation
    mode = decide(generation, frozen, guard, facts.keras_version)
    return BaseRun(base, uses, flags, trainable, total, mode)


def _run(facts: ScriptFacts, train: Train, context: TrainingContext) -> Run:
    flags = in_force(train, facts.generation)
    bases: list[BaseRun] = []
    for base in dict.fromkeys(u.base for u in train.model.uses):
        if base in flags:
            uses = [u for u in train.model.uses if u.base is base]
            found = base_mode(facts, base, uses, flags[base])
            if found is not None:
                found.pretrained = base.pretrained or loaded_before(base.loaded_at, train)
                bases.append(found)
    bns = []
    for bn in train.model.bns:
        own = flags.get(bn, Flags(True)).own
        if own is not None:
            bns.append((bn, decide(facts.generation, None if own else "trainable=False", None, facts.keras_version)))
    return Run(train, bases, bns, run_context(train, context))


def run_context(train: Train, context: TrainingContext) -> TrainingContext:
    """The options' context, completed by what the script says about this call."""
    where = f"the script, line {train.pos.line}"
    steps = None
    if train.method == "train_on_batch":
        steps = train.repeats
    elif train.steps_per_epoch:
        steps = (train.epochs or 1) * train.steps_per_epoch
    batch_source = f"the script, line {train.batch_pos.line}" if train.batch_pos else where
    if train.default_batch:
        batch_source = f"Keras' default batch size, line {train.batch_pos.line if train.batch_pos else train.pos.line}"
    context = context.merged_under(source=batch_source, batch_size=train.batch)
    # train_on_batch's data is one batch, not the dataset: its horizon is the loops around it
    size = train.data.size if train.data is not None and train.method != "train_on_batch" else None
    return context.merged_under(source=where, epochs=train.epochs, steps=steps, dataset_size=size)


def fully_frozen(run: BaseRun) -> bool:
    """Every layer of the base the model uses is frozen, not only its BN layers."""
    flags = run.flags
    if flags.layers is not None:
        parts = [u.upto for u in run.uses]
        stop = None if None in parts or not parts else max(parts)
        return not any(flags.layers[min((u.start for u in run.uses), default=0) : stop])
    return flags.bn is False and flags.other is False or (run.base.kind == "hub" and flags.own is False)


def first_runs_per_base(facts: ScriptFacts, context: TrainingContext) -> dict[Base, list[tuple[Run, BaseRun]]]:
    """Every run of every base, in program order."""
    found: dict[Base, list[tuple[Run, BaseRun]]] = {}
    for run in runs(facts, context):
        for base_run in run.bases:
            found.setdefault(base_run.base, []).append((run, base_run))
    return found
