"""Helpers several rules use: BN modes per layer, grouping, the freeze fix."""

from __future__ import annotations

from collections import defaultdict

from ..diagnostics import Edit, Fix
from ..graph import Layer, ModelGraph
from ..semantics import BNMode, bn_mode


def mode(graph: ModelGraph, layer: Layer) -> BNMode:
    return bn_mode(layer, graph.generation, graph.keras_version)


def training_bn(graph: ModelGraph, layers: list[Layer]) -> list[Layer]:
    """The BN layers among `layers` that update their statistics under fit()."""
    return [bn for bn in layers if mode(graph, bn).updates_stats]


def momentum_of(layer: Layer) -> float:
    value = layer.config.get("momentum", 0.99)
    return float(value) if isinstance(value, (int, float)) else 0.99


def by_momentum(layers: list[Layer]) -> dict[float, list[Layer]]:
    groups: dict[float, list[Layer]] = defaultdict(list)
    for layer in layers:
        groups[momentum_of(layer)].append(layer)
    return dict(sorted(groups.items(), reverse=True))


def by_owner(graph: ModelGraph, layers: list[Layer]) -> dict[Layer | None, list[Layer]]:
    """Group BN layers by the pretrained base they sit in (None: not in a base)."""
    groups: dict[Layer | None, list[Layer]] = defaultdict(list)
    for layer in layers:
        groups[graph.base_of(layer)].append(layer)
    return dict(groups)


def where(owner: Layer | None, layers: list[Layer]) -> tuple[str, str, str]:
    """(layer path to report, headline subject, the layers named for the detail: '' when the
    subject names them). The subject is verb-ready: use `trains(layers)` for agreement."""
    if owner is not None:
        return owner.path, f"{plural(len(layers), 'BN layer')} of base '{owner.name}'", ""
    if len(layers) == 1:
        return layers[0].path, f"BN layer '{layers[0].name}'", ""
    names = ", ".join(layer.name for layer in layers[:3]) + (", ..." if len(layers) > 3 else "")
    return layers[0].path, f"{len(layers)} BN layers", f" The BN layers: {names}."


def settings(layers: list[Layer], *keys: str) -> dict[str, str]:
    """The BN settings the full text output shows beside a model finding: each config value
    `layers` hold for `keys` (distinct values once), momentum with its time constant 1/(1-m)."""
    from .. import momentum as mom

    shown: dict[str, str] = {}
    for key in keys:
        if key == "trainable":
            values = [str(layer.trainable) for layer in layers]
        elif key == "momentum":
            values = [f"{momentum_of(layer):g}" for layer in layers]
        else:
            values = [str(layer.config[key]) for layer in layers if key in layer.config]
        if values:
            shown[key] = ", ".join(dict.fromkeys(values))
        if key == "momentum":
            taus = dict.fromkeys(f"{mom.time_constant(momentum_of(layer)):.0f}" for layer in layers)
            shown["1/(1-m)"] = f"{', '.join(taus)} steps"
    return shown


def freeze_fix(layers: list[Layer], why: str) -> Fix:
    return Fix(
        description=f"set trainable=False on {len(layers)} BN layer{'s' * (len(layers) != 1)} ({why})",
        applicability="safe",
        edits=tuple(Edit("config", layer.path, "trainable", True, False) for layer in layers),
    )


def trains(layers: list[Layer]) -> str:
    return "trains" if len(layers) == 1 else "train"


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' * (count != 1)}"


def statistics_state(graph: ModelGraph, layers: list[Layer]) -> str | None:
    """'initial' when every readable BN layer still holds its starting moving statistics
    (a network never trained: nothing pretrained to lose), 'stored' when some moved, None
    when none can be read. Stops at the first layer that moved."""
    from .bn005_stale_moving_stats import initial_value

    read = False
    for layer in layers:
        arrays = graph.bn_weights(layer)
        if arrays is None:
            continue
        read = True
        for name in ("moving_mean", "moving_variance"):
            start = initial_value(layer.config, name)
            if name in arrays and (start is None or not (arrays[name] == start).all()):
                return "stored"
    return "initial" if read else None


def if_fine_tuned(graph: ModelGraph) -> str:
    """'If fine-tuned, ' for a model saved without training state (exported for
    inference: no compile configuration, no optimizer state): its findings are about a
    fine-tuning that has not been set up, and are information, not warnings."""
    return "If fine-tuned, " if graph.exported else ""


def adapt_instead(momentum: float | None, steps: int | None) -> str:
    """BN014's alternative to freezing: let the statistics adapt faster (BN002's momentum),
    offered only when that momentum is lower than the current one."""
    from .. import momentum as mom

    target = mom.suggested(steps)
    if momentum is not None and target >= momentum:
        return ""
    return (
        " If your data is far from the pretraining domain (measure it: `bnlint probe MODEL --data DIR`) you may "
        f"instead let them adapt on purpose, faster, with momentum {target:g} (BN002), or `bnlint recalibrate`."
    )
