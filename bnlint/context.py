"""The training context (dataset size, batch size, horizon) a lint run assumes.

Sources, highest priority first: CLI options, the configuration file (bnlint.toml,
.bnlint.toml or `[tool.bnlint]` in pyproject.toml),
the linted script, the model file itself, defaults. Every value remembers where it
came from, so that findings can say what they assumed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import InputError

FIELDS = ("dataset_size", "batch_size", "epochs", "steps", "min_batch_size", "horizon_factor")
DEFAULT_MIN_BATCH_SIZE = 16
# BN002: statistics count as forgotten after this many time constants 1/(1-m) (e^-5: 0.7% left)
DEFAULT_HORIZON_FACTOR = 5
THRESHOLDS = ("min_batch_size", "horizon_factor")  # fields with a default: set only when a source names them
FROM_OPTIMIZER = "optimizer iterations in the file"
KERAS_VERSION = re.compile(r"[123](\.\d+){0,2}")


@dataclass(frozen=True)
class TrainingContext:
    dataset_size: int | None = None
    batch_size: int | None = None
    epochs: int | None = None
    steps: int | None = None
    min_batch_size: int = DEFAULT_MIN_BATCH_SIZE
    horizon_factor: int = DEFAULT_HORIZON_FACTOR
    keras_version: str | None = None  # the Keras a script targets (models record their own)
    sources: dict[str, str] = field(default_factory=dict)

    def merged_under(self, **values: Any) -> TrainingContext:
        """Fill only the fields this context lacks, from a lower-priority source.

        `source` names where the new values come from (e.g. "model file")."""
        source = values.pop("source")
        updates = {k: v for k, v in values.items() if v is not None and not self.given(k)}
        if not updates:
            return self
        sources = dict(self.sources)
        sources.update({k: source for k in updates})
        return replace(self, sources=sources, **updates)

    def given(self, name: str) -> bool:
        """Whether a source set `name` (a threshold always has a value: its default)."""
        return name in self.sources if name in THRESHOLDS else getattr(self, name) is not None

    def horizon(self) -> tuple[int, str] | None:
        """Optimizer steps T and a phrase saying where T comes from; None if unknown."""
        if self.steps is not None:
            source = self.sources.get("steps", "given")
            if source == FROM_OPTIMIZER:
                return self.steps, f"the {self.steps} steps this model was already trained ({source})"
            return self.steps, f"the planned {self.steps} steps ({source})"
        if self.dataset_size and self.batch_size:
            per_epoch = math.ceil(self.dataset_size / self.batch_size)
            epochs = self.epochs or 1
            how = f"the planned {epochs} epoch{'s' * (epochs != 1)} × {per_epoch} steps ({self.dataset_size} samples / batch {self.batch_size})"
            if self.epochs is None:
                how += ", one epoch assumed"
            return epochs * per_epoch, how
        return None

    def describe(self) -> str:
        parts = [
            f"{name.replace('_', '-')}={getattr(self, name)} ({self.sources.get(name, 'default')})"
            for name in FIELDS
            if self.given(name)
        ]
        return ", ".join(parts) if parts else "none (no dataset size, batch size or steps known)"


def from_options(source: str, **values: Any) -> TrainingContext:
    clean = {k: v for k, v in values.items() if v is not None}
    for key, value in clean.items():
        if key == "keras_version":
            if not isinstance(value, str) or not KERAS_VERSION.fullmatch(value):
                raise InputError(f"keras-version must look like '3', '3.15' or '2.15.0' in {source}")
            continue
        if key not in FIELDS:
            raise InputError(f"unknown setting '{key.replace('_', '-')}' in {source}")
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise InputError(f"{key.replace('_', '-')} must be a positive integer in {source}")
    return TrainingContext(sources={k: source for k in clean}, **clean)
