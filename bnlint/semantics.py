"""The one answer to "does this BN layer update its statistics during fit()?".

Every rule asks here instead of guessing; the answers follow what was measured
in keras-formats.md §4 for each Keras generation:

- Keras 3: BN trains iff the layer is trainable (freezing a base writes False into
  every sublayer). A recorded `training=False` on a nested call is overridden by
  fit() (keras#20285).
- Keras 2 on TF 2: BN trains iff trainable and no enclosing call passes
  `training=False` on every one of its calls.
- Legacy Keras: a frozen BN still normalizes with batch statistics in training;
  before Keras 2.1.3 it even kept updating its moving statistics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .graph import Generation, Layer

# TF 1.13 serialized its BN classes as BatchNormalizationV1 (frozen BN uses batch
# statistics) and BatchNormalizationV2 (`_USE_V2_BEHAVIOR = True`: frozen BN runs in
# inference mode, as in TF 2).
V2_CLASS = "BatchNormalizationV2"


@dataclass(frozen=True)
class BNMode:
    """How one BN layer behaves under fit()."""

    updates_stats: bool | None  # moving mean/variance change during fit()
    batch_stats: bool | None  # normalizes with the batch's statistics during fit()
    reason: str


def frozen_by(layer: Layer) -> Layer | None:
    """The layer whose trainable=False keeps `layer` from training, if any.

    The layer's own flag decides: `base.trainable = False` writes False into every
    sublayer, but a BN layer set back to trainable inside a frozen base updates its
    moving statistics under fit() (measured: Keras 3 and tf_keras, in memory and
    after reloading .keras/.h5). Only a layer that records no flag of its own
    inherits the nearest ancestor's.
    """
    for candidate in (layer, *layer.ancestors()):
        if "trainable" in candidate.config:
            return None if candidate.config["trainable"] else candidate
    return None


def unprotected_calls(layer: Layer) -> list[str]:
    """The calls of `layer` in its parent that do not pass training=False.

    A Sequential parent can never record `training`, so its one call is unprotected.
    Returns human-readable call descriptions; empty means every call passes False.
    """
    if layer.parent is None:
        return []
    if layer.wiring == "sequential":
        return [f"inside Sequential '{layer.parent.name}'"]
    if layer.wiring != "functional" or not layer.nodes:
        return []
    count = len(layer.nodes)
    return [
        f"call {position} of {count}" if count > 1 else "call 1"
        for position, node in enumerate(layer.nodes, start=1)
        if node.training is not False
    ]


def protected_by(layer: Layer) -> Layer | None:
    """The nearest enclosing layer (or the layer itself) all of whose calls pass
    training=False, which Keras 2 honours for everything inside it."""
    for candidate in (layer, *layer.ancestors()):
        if candidate.parent is None:
            return None
        if candidate.wiring == "functional" and candidate.nodes and not unprotected_calls(candidate):
            return candidate
    return None


def bn_mode(layer: Layer, generation: Generation, keras_version: str | None = None) -> BNMode:
    frozen = frozen_by(layer)
    frozen_text = (
        f"trainable=False on '{frozen.name}'" if frozen is not None and frozen is not layer else "trainable=False"
    )
    guard = protected_by(layer)
    guard_text = f"'{guard.name}' is called with training=False" if guard is not None else None
    if generation is Generation.LEGACY and layer.class_name == V2_CLASS:
        generation = Generation.KERAS2  # TF 1.13's V2 class already ran frozen BN in inference mode
    return decide(generation, frozen_text if frozen is not None else None, guard_text, keras_version)


def decide(generation: Generation, frozen: str | None, guard: str | None, keras_version: str | None = None) -> BNMode:
    """The decision itself, from what holds for one BN layer: `frozen` says why it is
    not trainable (None: trainable), `guard` why every enclosing call passes
    training=False (None: some call does not). Saved models (bn_mode) and scripts
    (bnlint.scripts) both decide here."""
    if generation is Generation.KERAS3:
        if frozen is not None:
            return BNMode(False, False, f"{frozen}: inference mode under fit()")
        return BNMode(True, True, "trainable (Keras 3 ignores a nested training=False under fit())")

    if generation is Generation.KERAS2:
        if frozen is not None:
            return BNMode(False, False, f"{frozen}: inference mode under fit()")
        if guard is not None:
            return BNMode(False, False, guard)
        return BNMode(True, True, "trainable and no enclosing training=False")

    # Legacy Keras: trainable=False stops weight updates but not batch statistics.
    if guard is not None:
        return BNMode(False, False, guard)
    if frozen is not None:
        if _before_2_1_3(keras_version):
            return BNMode(True, True, f"{frozen}, but Keras < 2.1.3 still updates moving statistics")
        return BNMode(False, True, f"{frozen}, but legacy Keras still normalizes with batch statistics")
    return BNMode(True, True, "trainable and no enclosing training=False")


def _before_2_1_3(keras_version: str | None) -> bool:
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", keras_version or "")
    if not match or keras_version.endswith("-tf"):
        return False
    return tuple(int(part) for part in match.groups()) < (2, 1, 3)
