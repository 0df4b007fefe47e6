"""Settings a script reads at run time from files of its own repository: the paths it
computes (`os.path.join(os.path.dirname(__file__), "configs", "network.json")`) and the
JSON or YAML it loads from them. The file is parsed as data, nothing is run (YAML with the
safe loader whatever loader the script names); a file outside the script's repository, or
one that is missing, is not read.
"""

from __future__ import annotations

import json
import os
import posixpath
from dataclasses import dataclass
from typing import Any

from .local_modules import SEARCH_UP

MAX_SETTINGS_BYTES = 1_000_000
# os.path functions that only compute on strings (no look at the disk).
PURE_PATH_FUNCTIONS = {"join", "dirname", "basename", "abspath", "normpath", "splitext", "split"}


@dataclass(frozen=True)
class OpenFile:
    """`open(path)` for reading, before its content is parsed."""

    path: str


def path_function(name: str, args: list[Any], cwd: str) -> Any:
    """`os.path.<name>(*args)` on known strings; None when it cannot be computed."""
    if name not in PURE_PATH_FUNCTIONS or not args or not all(isinstance(a, str) for a in args):
        return None
    if name == "abspath":
        return posixpath.normpath(posixpath.join(cwd, args[0]))
    function = getattr(posixpath, name)
    try:
        return function(*args) if name == "join" else function(args[0])
    except (TypeError, ValueError):
        return None


def repository_root(script: str) -> str:
    """The folder bnlint may read settings from: the script's folder and a few above it,
    as for local modules."""
    root = os.path.dirname(os.path.abspath(script))
    for _ in range(SEARCH_UP):
        parent = os.path.dirname(root)
        if parent == root:
            break
        root = parent
    return root


def parse(data: bytes, language: str) -> Any:
    text = data.decode("utf-8-sig")
    if language == "JSON":
        return json.loads(text)
    import yaml  # only for scripts that read YAML settings

    try:
        return yaml.safe_load(text)  # plain data only: tags that build Python objects fail
    except yaml.YAMLError as exc:
        raise ValueError(str(exc)) from None


def read_settings(path: str, script: str, language: str) -> tuple[Any, str | None]:
    """(parsed JSON or YAML, None) or (None, why it was not read). A relative path is looked
    for beside the script and in the folders above it, up to the repository root."""
    here = os.path.dirname(os.path.abspath(script))
    root = repository_root(script)
    for candidate in [path] if os.path.isabs(path) else upwards(here, root, path):
        full = os.path.normpath(candidate)
        if os.path.commonpath([root, full]) != root:
            return None, f"settings file {path} is outside the script's repository: not read"
        if not os.path.isfile(full):
            continue
        try:
            if os.path.getsize(full) > MAX_SETTINGS_BYTES:
                return None, f"settings file {path} is larger than {MAX_SETTINGS_BYTES:,} bytes: not read"
            with open(full, "rb") as handle:
                return parse(handle.read(), language), None
        except (OSError, UnicodeDecodeError, ValueError, RecursionError):
            return None, f"settings file {path} could not be read as {language}"
    return None, f"settings file {path} was not found in the script's repository"


def upwards(here: str, root: str, path: str) -> list[str]:
    """`path` under `here` and under each folder above it, up to `root`."""
    found = []
    folder = here
    while True:
        found.append(os.path.join(folder, path))
        if folder == root or os.path.dirname(folder) == folder:
            return found
        folder = os.path.dirname(folder)
