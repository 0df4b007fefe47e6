"""bnlint's configuration: where it is found and what it may say.

A file's settings come from the nearest configuration at or above it: in each folder,
`bnlint.toml`, then `.bnlint.toml`, then `pyproject.toml` if it has a `[tool.bnlint]` table
(the first found wins, as with ruff), or from `--config PATH`. Globs (`exclude`,
`per-file-ignores`) are relative to the folder of the file that declares them. Unknown keys
and values of the wrong type are errors naming the key and the file.
"""

from __future__ import annotations

import difflib
import fnmatch
import os
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .errors import InputError
from .limits import KEYS as LIMIT_KEYS

CONFIG_FILES = ("bnlint.toml", ".bnlint.toml", "pyproject.toml")
CONTEXT_KEYS = ("dataset-size", "batch-size", "epochs", "steps", "min-batch-size", "horizon-factor", "keras-version")
CODE_LISTS = ("select", "extend-select", "ignore")
GLOB_LISTS = ("exclude", "extend-exclude", "ignore-layers")
KNOWN = {*CONTEXT_KEYS, *CODE_LISTS, *GLOB_LISTS, "per-file-ignores", *LIMIT_KEYS}


@dataclass(frozen=True)
class Config:
    source: str | None = None  # the file it was read from; None: defaults only
    root: str = "."  # globs are relative to this folder
    select: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] = ()
    extend_exclude: tuple[str, ...] = ()
    ignore_layers: tuple[str, ...] = ()
    context: dict[str, Any] = field(default_factory=dict)  # training context keys, underscored
    limits: dict[str, int] = field(default_factory=dict)

    def excluded(self, path: str) -> bool:
        return matches(self.root, path, self.exclude + self.extend_exclude)

    def ignored_codes(self, path: str) -> tuple[str, ...]:
        """The codes per-file-ignores turn off for this file."""
        return tuple(
            code for pattern, codes in self.per_file_ignores if matches(self.root, path, (pattern,)) for code in codes
        )

    def ignores_layer(self, layer: str | None) -> bool:
        return layer is not None and any(fnmatch.fnmatchcase(layer, pattern) for pattern in self.ignore_layers)


def matches(root: str, path: str, patterns: tuple[str, ...]) -> bool:
    """A glob matches the path relative to `root`, a folder on the way, or the file name
    (`tests/*`, `legacy/`, `*.ipynb`, `**/scratch_*.py`)."""
    if not patterns:
        return False
    relative = os.path.relpath(os.path.abspath(path), root).replace(os.sep, "/")
    parts = relative.split("/")
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        stripped = pattern[3:] if pattern.startswith("**/") else pattern
        if fnmatch.fnmatchcase(relative, pattern) or fnmatch.fnmatchcase(relative, stripped):
            return True
        if any(fnmatch.fnmatchcase("/".join(parts[: i + 1]), stripped) for i in range(len(parts) - 1)):
            return True  # a folder on the way: `legacy` excludes legacy/a/b.py
        if "/" not in stripped and fnmatch.fnmatchcase(parts[-1], stripped):
            return True
    return False


def forget() -> None:
    """Drop what was found and read: each run sees the configuration files as they are now
    (the API may lint again in the same process after a file was edited)."""
    _find_from.cache_clear()
    _load_config.cache_clear()


def find(path: str) -> str | None:
    """The configuration file that governs `path`: the nearest at or above it."""
    start = os.path.abspath(path if os.path.isdir(path) else os.path.dirname(path) or ".")
    return _find_from(start)


@lru_cache(maxsize=256)
def _find_from(folder: str) -> str | None:
    for name in CONFIG_FILES:
        candidate = os.path.join(folder, name)
        if os.path.isfile(candidate) and (name != "pyproject.toml" or _has_table(candidate)):
            return candidate
    parent = os.path.dirname(folder)
    return None if parent == folder else _find_from(parent)


def _has_table(pyproject: str) -> bool:
    try:
        with open(pyproject, "rb") as handle:
            text = handle.read()
    except OSError:
        return False
    return b"bnlint" in text and "bnlint" in _load(pyproject).get("tool", {})


def load(path: str | None) -> Config:
    """The configuration in `path` (a bnlint.toml, .bnlint.toml or pyproject.toml); defaults for None."""
    return Config() if path is None else _load_config(os.path.abspath(path))


@lru_cache(maxsize=64)
def _load_config(path: str) -> Config:
    data = _load(path)
    table = data.get("tool", {}).get("bnlint") if os.path.basename(path) == "pyproject.toml" else data
    if table is None:
        raise InputError(f"{path}: no [tool.bnlint] table")
    if not isinstance(table, dict):
        raise InputError(f"{path}: [tool.bnlint] must be a table")
    unknown = sorted(key for key in table if key.replace("_", "-") not in KNOWN)
    if unknown:
        close = difflib.get_close_matches(unknown[0].replace("_", "-"), sorted(KNOWN), n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(sorted(KNOWN))}"
        raise InputError(f"unknown setting '{unknown[0]}' in {path} ({hint})")
    values = {key.replace("_", "-"): value for key, value in table.items()}
    return Config(
        source=path,
        root=os.path.dirname(path),
        **{key.replace("-", "_"): _strings(values, key, path) for key in (*CODE_LISTS, *GLOB_LISTS)},
        per_file_ignores=_per_file_ignores(values.get("per-file-ignores", {}), path),
        context={key.replace("-", "_"): values[key] for key in CONTEXT_KEYS if key in values},
        limits={key: values[key] for key in LIMIT_KEYS if key in values},
    )


def _load(path: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        with open(path, "rb") as handle:
            return tomllib.loads(handle.read().decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{path}: cannot read the configuration ({exc})") from None


def _strings(values: dict[str, Any], key: str, path: str) -> tuple[str, ...]:
    value = values.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InputError(f"{key} must be a list of strings in {path}")
    return tuple(value)


def _per_file_ignores(value: Any, path: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(value, dict):
        raise InputError(f"per-file-ignores must be a table of glob = [codes] in {path}")
    pairs = []
    for pattern, codes in value.items():
        codes = [codes] if isinstance(codes, str) else codes
        if not isinstance(codes, list) or not all(isinstance(code, str) for code in codes):
            raise InputError(f'per-file-ignores."{pattern}" must be a list of rule codes in {path}')
        pairs.append((pattern, tuple(codes)))
    return tuple(pairs)
