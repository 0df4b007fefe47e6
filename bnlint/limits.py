"""How much of a file bnlint is willing to read: bnlint lints files from pull requests, so a
hostile one (a zip bomb, JSON nested 200,000 deep, a million layers) must be refused quickly
and with bounded memory, while every real model stays well inside the defaults.

Settings: `[tool.bnlint]` keys (`max-member-mib = 512`) or `--limit max-member-mib=512`.
The limits of the file being linted are in force while it is read (`current()`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, fields, replace
from typing import Any

from .errors import InputError

MIB = 1 << 20


@dataclass(frozen=True)
class Limits:
    # Any one member, attribute or metadata file read whole (config.json, model_config,
    # keras_metadata.pb): ResNet152's config is 0.5 MB, the largest keras.applications 1.5 MB.
    # Parsed JSON takes ~10x its size in memory: 16 MiB keeps any file under ~250 MB.
    max_member_mib: int = 16
    # JSON nesting: Keras configs are ~20 deep (nested models, call arguments).
    max_json_depth: int = 200
    # Layers and call nodes in one model: NASNetLarge has 1,041 layers.
    max_layers: int = 100_000
    max_nodes: int = 1_000_000
    # Source files: scripts are read and parsed whole; notebooks carry their outputs.
    max_script_mib: int = 20
    max_notebook_mib: int = 128
    # Reading and linting one model file (ResNet152: 0.5 s); past it the reading process is
    # killed (see isolation.py): a corrupt HDF5 file can make the HDF5 library loop.
    max_seconds: int = 120

    @property
    def member_bytes(self) -> int:
        return self.max_member_mib * MIB


KEYS = {f.name.replace("_", "-"): f.name for f in fields(Limits)}
DEFAULTS = Limits()
_CURRENT: ContextVar[Limits | None] = ContextVar("bnlint_limits", default=None)


def current() -> Limits:
    return _CURRENT.get() or DEFAULTS


@contextmanager
def in_force(limits: Limits) -> Iterator[None]:
    token = _CURRENT.set(limits)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def from_settings(base: Limits, values: dict[str, Any], source: str) -> Limits:
    """`base` with the limits `values` names (keys spelled with dashes or underscores)."""
    changes = {}
    for key, value in values.items():
        name = KEYS.get(key.replace("_", "-"))
        if name is None:
            raise InputError(f"unknown limit '{key}' in {source} (known: {', '.join(sorted(KEYS))})")
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise InputError(f"{key.replace('_', '-')} must be a positive integer in {source}")
        changes[name] = value
    return replace(base, **changes)


def parse_option(text: str) -> tuple[str, int]:
    """`max-member-mib=512` -> ('max-member-mib', 512)."""
    key, sep, value = text.partition("=")
    if not sep or not value.strip().isdigit():
        raise InputError(f"--limit takes NAME=NUMBER (known names: {', '.join(sorted(KEYS))}), not '{text}'")
    return key.strip(), int(value)


def read_capped(stream: Any, what: str, limit: int | None = None) -> bytes:
    """All of `stream`, or an InputError as soon as it yields more than the limit (never
    trusting a size the file declares: a zip header can lie)."""
    limit = current().member_bytes if limit is None else limit
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise InputError(f"{what} is larger than {limit // MIB} MiB (limit max-member-mib; see bnlint --help)")
    return data


def load_json(data: bytes | str, what: str) -> Any:
    """JSON, refused with one clear reason when it is invalid or nested too deep."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise InputError(f"{what} is nested too deeply to read") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{what} is not valid JSON ({exc})") from None
    check_depth(value, what)
    return value


def check_depth(value: Any, what: str) -> None:
    limit = current().max_json_depth
    if _depth(value, limit) > limit:
        raise InputError(f"{what} is nested deeper than {limit} levels (limit max-json-depth)")


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of parsed JSON, without recursion; stops counting past the limit."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                return deepest
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values() if isinstance(child, (dict, list)))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item if isinstance(child, (dict, list)))
    return deepest


class Count:
    """Layers and call nodes of one model, counted as it is built: a config with millions of
    them is refused before it fills memory with layer objects."""

    def __init__(self, limits: Limits):
        self.limits, self.layers, self.nodes = limits, 0, 0

    def add(self, layer: Any) -> None:
        self.layers += 1
        self.nodes += len(layer.nodes)
        if self.layers > self.limits.max_layers:
            raise InputError(f"model has more than {self.limits.max_layers:,} layers (limit max-layers)")
        if self.nodes > self.limits.max_nodes:
            raise InputError(f"model has more than {self.limits.max_nodes:,} call nodes (limit max-nodes)")
