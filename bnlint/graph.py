"""The framework-neutral model graph every reader produces and every rule reads.

Nothing here knows about files: readers fill it in, rules only look at it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Generation(str, Enum):
    """The Keras generation whose training semantics apply (keras-formats.md §4)."""

    KERAS3 = "keras3"  # keras>=3, tf.keras on TF>=2.16
    KERAS2 = "keras2"  # tf_keras, tf.keras on TF 2.x (keras_version 2.3.0-tf, 2.4+)
    LEGACY = "legacy"  # multi-backend Keras <= 2.3.1, tf.keras on TF 1.x (2.2.4-tf)

    @property
    def label(self) -> str:
        return {
            "keras3": "Keras 3",
            "keras2": "Keras 2 (tf_keras / tf.keras on TF 2)",
            "legacy": "legacy Keras (multi-backend, or tf.keras on TF 1.x)",
        }[self.value]


CONTAINER_CLASSES = {"Functional", "Model", "Sequential"}
BN_CLASSES = {
    "BatchNormalization",
    "SyncBatchNormalization",
    "BatchNormalizationV1",
    "BatchNormalizationV2",
}


def path_segment(name: str) -> str:
    """A layer name as one segment of a layer path: names that contain '/' (tf_keras DenseNet's
    'conv1/bn') are quoted, so 'densenet121/"conv1/bn"' is one layer and 'conv1/bn' two."""
    return f'"{name}"' if "/" in name or name.startswith('"') else name


def split_path(path: str) -> list[str]:
    """The layer names of a layer path (quoted segments are one name each)."""
    names, current, quoted = [], "", False
    for char in path:
        if char == '"' and (quoted or current == ""):
            quoted = not quoted
        elif char == "/" and not quoted:
            names.append(current)
            current = ""
        else:
            current += char
    names.append(current)
    return names


@dataclass
class CallNode:
    """One recorded call of a layer inside its parent model."""

    index: int  # position in the layer's node list, as consumers refer to it
    kwargs: dict[str, Any]
    inbound: list[str]  # names of the layers whose outputs feed this call
    # (layer name, node index, tensor index) of each input, as the config records it
    refs: list[tuple[str, Any, Any]] = field(default_factory=list)

    @property
    def training(self) -> Any:
        """The recorded `training` argument: True, False or None (not passed)."""
        return self.kwargs.get("training")


@dataclass(eq=False)  # identity: two layers with equal configs are still two layers
class Layer:
    name: str
    class_name: str
    config: dict[str, Any]
    path: str = ""
    module: str | None = None
    registered_name: str | None = None
    parent: Layer | None = field(default=None, repr=False)
    children: list[Layer] = field(default_factory=list, repr=False)
    nodes: list[CallNode] = field(default_factory=list)
    # How the layer's parent wires it: "functional" (call nodes recorded),
    # "sequential" (no call kwargs can be recorded), "wrapper" (TimeDistributed...),
    # or None for the root.
    wiring: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def trainable(self) -> bool:
        value = self.config.get("trainable")
        if value is not None:
            return bool(value)
        # Old Sequential configs (a bare list) keep no flag of their own: a model
        # frozen before saving shows only as frozen layers.
        inner = [child for child in self.children if child.class_name != "InputLayer"]
        return not inner or any(child.trainable for child in inner)

    @property
    def frozen(self) -> bool:
        """Nothing in it trains: its own flag is off, or every layer in it is frozen (the
        `for layer in base.layers: layer.trainable = False` idiom leaves the model's own flag
        on, and so does tf_keras when it loads a nested model from a .keras file)."""
        inner = [child for child in self.children if child.class_name != "InputLayer"]
        return not self.trainable or (bool(inner) and all(child.frozen for child in inner))

    @property
    def built_input_shape(self) -> Any:
        """The input shape Keras 3 recorded when it built the layer (`build_config`), or None."""
        build = self.raw.get("build_config")
        return build.get("input_shape") if isinstance(build, dict) else None

    @property
    def is_bn(self) -> bool:
        return self.class_name in BN_CLASSES

    @property
    def is_container(self) -> bool:
        return self.class_name in CONTAINER_CLASSES or isinstance(self.config.get("layers"), list)

    @property
    def is_sequential(self) -> bool:
        return self.class_name == "Sequential"

    def ancestors(self) -> Iterator[Layer]:
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def walk(self) -> Iterator[Layer]:
        """This layer and everything below it, depth first, in config order."""
        yield self
        for child in self.children:
            yield from child.walk()

    def bn_layers(self) -> list[Layer]:
        return [layer for layer in self.walk() if layer.is_bn and layer is not self]

    def find(self, name: str) -> Layer | None:
        return self._children_by_name().get(name)

    def consumers_of(self, name: str) -> list[Layer]:
        """The children whose calls take the output of child `name`, in config order."""
        index = self.__dict__.get("_consumers")
        if index is None:
            index = {}
            for child in self.children:
                for inbound in dict.fromkeys(n for node in child.nodes for n in node.inbound):
                    index.setdefault(inbound, []).append(child)
            self.__dict__["_consumers"] = index
        return index.get(name, [])

    def _children_by_name(self) -> dict[str, Layer]:
        # Built once: rules look siblings up by name for every BN layer of large models.
        index = self.__dict__.get("_by_name")
        if index is None or len(index) > len(self.children):
            index = {}
            for child in self.children:
                index.setdefault(child.name, child)
            self.__dict__["_by_name"] = index
        return index


@dataclass
class ModelGraph:
    path: str
    kind: str  # "keras", "h5", "savedmodel"
    keras_version: str | None
    generation: Generation
    root: Layer
    training_config: dict[str, Any] | None = None
    optimizer_iterations: int | None = None
    notes: list[str] = field(default_factory=list)
    # Members of the file whose loading could run code (pickles, duplicate names): BN013.
    code_members: list[str] = field(default_factory=list)
    # Live tf_keras models only: (layer path, flag as compiled, flag now) for every layer whose
    # trainable flag changed since compile(); the layers' configs hold the compiled flag, the one
    # fit() runs with (BN004).
    trainable_since_compile: list[tuple[str, bool, bool]] = field(default_factory=list)
    # A weights.BNWeights set by the reader: BN arrays are read lazily, only when asked for.
    weights: Any = field(default=None, repr=False)
    _bases: list[Layer] | None = field(default=None, init=False, repr=False)

    def bn_weights(self, layer: Layer) -> dict[str, Any] | None:
        """A BN layer's arrays by variable name (gamma, beta, moving_mean, ...), or None
        when they cannot be read; the reason is then in all_notes()."""
        return self.weights.arrays(layer) if self.weights is not None else None

    def all_notes(self) -> list[str]:
        return self.notes + (self.weights.notes if self.weights is not None else [])

    def close(self) -> None:
        if self.weights is not None:
            self.weights.close()

    def __enter__(self) -> ModelGraph:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def exported(self) -> bool:
        """Saved for inference: neither a compile configuration nor optimizer state is stored
        (every Teachable Machine export); a model saved during training has both."""
        return not self.training_config and self.optimizer_iterations is None

    def layers(self) -> Iterator[Layer]:
        return self.root.walk()

    def bn_layers(self) -> list[Layer]:
        return [layer for layer in self.layers() if layer.is_bn]

    def bases(self) -> list[Layer]:
        """Nested models that contain BN layers: the pretrained bases of transfer
        learning. The outermost such model counts; its own sub-models do not.
        Computed once: every rule asks, and the structure never changes."""
        if self._bases is None:
            self._bases = self._find_bases()
        return self._bases

    def _find_bases(self) -> list[Layer]:
        found: list[Layer] = []

        def visit(layer: Layer) -> None:
            for child in layer.children:
                if child.is_container and child.bn_layers():
                    found.append(child)
                else:
                    visit(child)

        visit(self.root)
        return found

    def base_of(self, layer: Layer) -> Layer | None:
        """The pretrained base a layer sits in, if any."""
        bases = {id(base) for base in self.bases()}
        return next((a for a in layer.ancestors() if id(a) in bases), None)

    def layer(self, path: str) -> Layer | None:
        return next((layer for layer in self.layers() if layer.path == path), None)

    def input_batch_size(self) -> int | None:
        """The fixed batch dimension of the root model's inputs, if one is recorded."""
        for child in self.root.children:
            if child.class_name != "InputLayer":
                continue
            shape = child.config.get("batch_shape") or child.config.get("batch_input_shape")
            if isinstance(shape, list) and shape and isinstance(shape[0], int):
                return shape[0]
        return None


def generation_of(keras_version: str | None) -> Generation:
    """Map a saved `keras_version` string to the training semantics that produced it.

    Unknown versions are assumed to be current Keras 2 semantics only when they say so;
    anything unreadable is treated as Keras 3, the generation a new file most likely
    comes from.
    """
    if not keras_version:
        return Generation.KERAS3
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", keras_version)
    if not match:
        return Generation.KERAS3
    major, minor = int(match[1]), int(match[2])
    if major >= 3:
        return Generation.KERAS3
    if major < 2:
        return Generation.LEGACY
    if keras_version.endswith("-tf"):
        # TF 1.x (and TF 2.0/2.1) wrote 2.2.4-tf; TF 2.2/2.3 wrote 2.3.0-tf.
        return Generation.LEGACY if minor < 3 else Generation.KERAS2
    return Generation.LEGACY if minor < 4 else Generation.KERAS2


def weight_owner(scope: str, names: set[str]) -> str | None:
    """Which of the layers `names` (those whose weights share one legacy .h5 group) a weight
    scope belongs to: 'bn1' and 'seq/bn1' (a container's prefix) and 'block_1/bn1' (a
    keras.applications name scope) are bn1's; of several names that fit, the longest wins, so
    that 'conv1/bn' (tf_keras DenseNet) is not taken by the layer named 'bn'."""
    fits = [name for name in names if scope == name or scope.endswith("/" + name)]
    return max(fits, key=len) if fits else None
