"""What bnlint knows about keras.applications bases: how many layers, where the BN
layers sit in `base.layers`, and their momentum.

The table (applications.json) was measured with Keras 3.15.1 and tf_keras 2.21 by
tools/make_applications_table.py (weights=None). Positions let slices such as
`base.layers[:100]` be resolved to the exact BN layers they contain.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..graph import Generation

# Substrings of TF Hub handles whose models are CNNs with BN layers.
HUB_BN_FAMILIES = ("mobilenet", "resnet", "efficientnet", "inception", "nasnet", "pnasnet", "bit/", "bit_", "densenet")


@dataclass(frozen=True)
class AppInfo:
    name: str
    layers: int | None  # len(base.layers) with include_top=False, no pooling; None: unknown
    top_layers: int  # extra layers with include_top=True
    bn: tuple[int, ...]  # indices of the BN layers in base.layers
    momentum: tuple[float, ...]
    has_bn: bool

    def count(self, include_top: bool, pooling: bool) -> int | None:
        if self.layers is None:
            return None
        return self.layers + (self.top_layers if include_top else int(pooling))


@lru_cache(maxsize=1)
def _table() -> dict:
    return json.loads(Path(__file__).with_name("applications.json").read_text())


def lookup(name: str, generation: Generation | None = None) -> AppInfo | None:
    """The base built by `keras.applications.<name>`; None if bnlint does not know it."""
    table = _table()
    if name in table["no_bn"]:
        return AppInfo(name, None, 0, (), (), False)
    key = "keras2" if generation in (Generation.KERAS2, Generation.LEGACY) else "keras3"
    row = table[key].get(name) or table["shared"].get(name)
    if row is None:
        other = "keras3" if key == "keras2" else "keras2"
        row = table[other].get(name)
    if row is not None:
        return AppInfo(name, row["layers"], row["top_layers"], tuple(row["bn"]), tuple(row["momentum"]), True)
    for prefix, momentum in table["coarse"].items():
        if name.startswith(prefix):
            return AppInfo(name, None, 0, (), (momentum,), True)
    return None


def hub_has_bn(handle: object) -> bool | None:
    """Whether a TF Hub handle names a CNN family with BN layers; None if unknown."""
    if not isinstance(handle, str):
        return None
    lowered = handle.lower()
    return True if any(family in lowered for family in HUB_BN_FAMILIES) else None


@lru_cache(maxsize=1)
def _names() -> dict:
    path = Path(__file__).with_name("application_names.json")
    return json.loads(path.read_text()) if path.exists() else {}


def application_names(name: str, size: int | None) -> list[str] | None:
    """Layer names of a base in `base.layers` order (include_top=False); None when
    unknown or when the layer count differs (a top, a pooling layer, another release)."""
    names = _names().get(name)
    if names is None or size is None:
        return None
    return names if len(names) == size else names + [None] * (size - len(names)) if size > len(names) else None
