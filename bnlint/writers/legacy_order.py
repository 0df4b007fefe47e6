"""The order of `weight_names` in a legacy `.h5` file, predicted from the config.

Keras loads a legacy `.h5` by position: layer group k's `weight_names` are assigned, in
order, to `layer.trainable_weights + layer.non_trainable_weights`. That order depends on
which layers are trainable, so changing `trainable` in the config without reordering
the names loads gamma, beta and the moving statistics into each other's slots (same
shapes, silently: keras-formats.md §5 HAZARD, measured NaN predictions).

Keras 3 (keras/src/layers/layer.py): a model's weights are its layers' variables in
layer order; the trainable ones are those of trainable-kind whose layer and ancestors
are trainable. tf_keras (engine/base_layer.py) nests the split: a trainable container
lists its children's trainable weights then their non-trainable ones; a frozen layer
lists each child's weights whole, a frozen model (training.Model) still lists its
children's trainable weights first.
"""

from __future__ import annotations

from ..edits import Unsupported
from ..graph import Layer, weight_owner
from .variables import NON_TRAINABLE


def split_name(name: str) -> tuple[str, str]:
    """'bn1/gamma:0' -> ('bn1', 'gamma'); 'conv1/bn/gamma:0' -> ('conv1/bn', 'gamma'): the
    owner's name (DenseNet's layer names contain '/') and the variable."""
    prefix, _, variable = name.split(":")[0].rpartition("/")
    if not prefix:
        raise Unsupported(f"weight name '{name}' does not name its layer")
    return prefix, variable


def owns(layer: Layer, name: str, top: Layer) -> bool:
    """Whether weight `name` belongs to `layer` (of the layers sharing `top`'s group, it is
    the one the weight's scope names most specifically)."""
    return weight_owner(split_name(name)[0], {other.name for other in top.walk()}) == layer.name


def predict(top: Layer, names: list[str], keras3: bool) -> list[str]:
    """`names` (one layer group's weight_names) in the order Keras gives them for `top`'s
    current config."""
    own = _own_variables(top, names)
    if keras3:
        trainable, frozen = [], []
        for layer in top.walk():
            chain = [layer, *layer.ancestors()]
            in_training = all(node.trainable for node in chain[: chain.index(top) + 1])
            for name in own.get(layer.path, []):
                (trainable if in_training and not _non_trainable(name) else frozen).append(name)
        return trainable + frozen
    return _tf_keras(top, own)


def _own_variables(top: Layer, names: list[str]) -> dict[str, list[str]]:
    """layer path -> its weight names, trainable kinds first (each layer's own order)."""
    by_name: dict[str, Layer] = {}
    for layer in top.walk():
        if layer.name in by_name:
            raise Unsupported(f"two layers named '{layer.name}' inside '{top.name}': weights cannot be told apart")
        by_name[layer.name] = layer
    own: dict[str, list[str]] = {}
    for name in names:
        owner = weight_owner(split_name(name)[0], set(by_name))
        layer = by_name.get(owner) if owner is not None else None
        if layer is None:
            raise Unsupported(f"weight '{name}' belongs to no layer of '{top.name}'")
        own.setdefault(layer.path, []).append(name)
    return {path: _kind_sorted(values) for path, values in own.items()}


def _kind_sorted(names: list[str]) -> list[str]:
    return [n for n in names if not _non_trainable(n)] + [n for n in names if _non_trainable(n)]


def _non_trainable(name: str) -> bool:
    return split_name(name)[1] in NON_TRAINABLE


def _tf_keras(layer: Layer, own: dict[str, list[str]]) -> list[str]:
    return _trainable(layer, own) + _frozen(layer, own)


def _trainable(layer: Layer, own: dict[str, list[str]]) -> list[str]:
    if not layer.trainable:
        return []
    mine = [n for n in own.get(layer.path, []) if not _non_trainable(n)]
    children = [n for child in layer.children for n in _trainable(child, own)]
    return children + mine if layer.is_container else mine + children  # Model lists its own last


def _frozen(layer: Layer, own: dict[str, list[str]]) -> list[str]:
    """tf_keras' non_trainable_weights: base_layer.Layer and training.Model differ when frozen."""
    mine = own.get(layer.path, [])
    mine_trainable, mine_frozen = [n for n in mine if not _non_trainable(n)], [n for n in mine if _non_trainable(n)]
    frozen_children = [n for child in layer.children for n in _frozen(child, own)]
    if layer.trainable:
        return frozen_children + mine_frozen if layer.is_container else mine_frozen + frozen_children
    if layer.is_container:  # a frozen Model: its children's trainable weights, then the rest
        return (
            [n for child in layer.children for n in _trainable(child, own)]
            + mine_trainable
            + frozen_children
            + mine_frozen
        )
    return mine + [n for child in layer.children for n in _tf_keras(child, own)]
