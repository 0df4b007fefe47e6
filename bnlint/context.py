"""The training context (dataset size, batch size, horizon) a lint run assumes.

Sources, highest priority first: CLI options, `[tool.bnlint]` in pyproject.toml,
the linted script, the model file itself, defaults. Every value remembers where it
came from, so that findings can say what they assumed.
"""

from __future__ import annotations

import math
import os
import re
import sys
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import InputError

FIELDS = ("dataset_size", "batch_size", "epochs", "steps", "min_batch_size")
DEFAULT_MIN_BATCH_SIZE = 16
FROM_OPTIMIZER = "optimizer iterations in the file"
KERAS_VERSION = re.compile(r"[123](\.\d+){0,2}")


@dataclass(frozen=True)
class TrainingContext:
    dataset_size: int | None = None
    batch_size: int | None = None
    epochs: int | None = None
    steps: int | None = None
    min_batch_size: int = DEFAULT_MIN_BATCH_SIZE
    keras_version: str | None = None  # the Keras a script targets (models record their own)
    sources: dict[str, str] = field(default_factory=dict)

    def merged_under(self, **values: Any) -> TrainingContext:
        """Fill only the fields this context lacks, from a lower-priority source.

        `source` names where the new values come from (e.g. "model file")."""
        source = values.pop("source")
        updates = {k: v for k, v in values.items() if v is not None and getattr(self, k) is None}
        if not updates:
            return self
        sources = dict(self.sources)
        sources.update({k: source for k in updates})
        return replace(self, sources=sources, **updates)

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
            if getattr(self, name) is not None and (name != "min_batch_size" or name in self.sources)
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


def find_pyproject(start: str) -> str | None:
    """The nearest pyproject.toml at or above `start`."""
    here = os.path.abspath(start if os.path.isdir(start) else os.path.dirname(start) or ".")
    while True:
        candidate = os.path.join(here, "pyproject.toml")
        if os.path.isfile(candidate):
            return candidate
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def load_settings(pyproject: str) -> dict[str, Any]:
    """`[tool.bnlint]` with dashes turned into underscores; {} if there is none."""
    try:
        with open(pyproject, "rb") as handle:
            text = handle.read()
    except OSError as exc:
        raise InputError(f"{pyproject}: cannot read [tool.bnlint] ({exc})") from None
    if b"bnlint" not in text:  # however the table is spelled, its name is in the file
        return {}  # most projects: no TOML parser loaded, and a broken file is not ours to judge
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        data = tomllib.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{pyproject}: cannot read [tool.bnlint] ({exc})") from None
    table = data.get("tool", {}).get("bnlint", {})
    return {key.replace("-", "_"): value for key, value in table.items()}
