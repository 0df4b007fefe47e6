"""Local modules of a script's repository (`from model import build_model`): found on
disk beside the script or in the folders above it, and parsed (never imported)."""

from __future__ import annotations

import ast
import os
from functools import lru_cache

from .source import decode

MAX_MODULE_BYTES = 1_000_000
SEARCH_UP = 3  # folders above the script where a package root may be (repo/src/train.py)


def find_module(script: str, module: str, level: int) -> str | None:
    """The .py file (or package __init__.py) that `import module` names, relative to
    the script; None when it is not part of the script's repository."""
    found = _find(os.path.dirname(os.path.abspath(script)), module, level)
    return None if found is not None and os.path.abspath(found) == os.path.abspath(script) else found


@lru_cache(maxsize=4096)  # the scripts of one folder import the same modules
def _find(here: str, module: str, level: int) -> str | None:
    parts = [p for p in module.split(".") if p]
    if level > 0:
        roots = [here]
        for _ in range(level - 1):
            roots = [os.path.dirname(roots[0])]
    else:
        roots = [here]
        for _ in range(SEARCH_UP):
            parent = os.path.dirname(roots[-1])
            if parent == roots[-1]:
                break
            roots.append(parent)
    for root in roots:
        if not parts:
            candidate = os.path.join(root, "__init__.py")
            if os.path.isfile(candidate):
                return candidate
            continue
        stem = os.path.join(root, *parts)
        for candidate in (stem + ".py", os.path.join(stem, "__init__.py")):
            if os.path.isfile(candidate):
                return candidate
    return None


def read_module(path: str) -> tuple[ast.Module, str] | None:
    try:
        if os.path.getsize(path) > MAX_MODULE_BYTES:
            return None
        with open(path, "rb") as handle:
            text = decode(handle.read())
        return ast.parse(text, filename=path), text
    except Exception:  # noqa: BLE001 - an unreadable module is a note, never a crash
        return None
