"""Notebooks cut into files: a folder of scripts meant to run one after another in one
session (`%run`, or pasted cell by cell), where a file uses names that an earlier file of
the folder defines and never imports them. A name a script uses but never binds is looked
up among the top-level definitions of the other .py files of its folder; the file that
defines it is then interpreted like a local module (read, never imported).
"""

from __future__ import annotations

import ast
import builtins
import os
from functools import lru_cache

from .local_modules import MAX_MODULE_BYTES

# A notebook cut into files is a handful of files (the real ones seen: 6 to 17); a folder
# with more scripts than this is a collection of scripts, each meant to run on its own.
MAX_SIBLINGS = 30
BUILTINS = frozenset(dir(builtins))


@lru_cache(maxsize=64)
def definitions(folder: str) -> dict[str, tuple[str, ...]]:
    """name -> the .py files of `folder` that bind it at top level, in file-name order."""
    names = scripts_of(folder)
    found: dict[str, list[str]] = {}
    for name in names:
        path = os.path.join(folder, name)
        try:
            if os.path.getsize(path) > MAX_MODULE_BYTES:
                continue
            with open(path, "rb") as handle:
                tree = ast.parse(handle.read())
        except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        for bound in top_level_names(tree):
            found.setdefault(bound, []).append(path)
    return {name: tuple(paths) for name, paths in found.items()}


def scripts_of(folder: str) -> list[str]:
    """The .py files of a folder in name order; none when there are too many to be cells."""
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith(".py"))
    except OSError:
        return []
    return names if len(names) <= MAX_SIBLINGS else []


def bound_names(tree: ast.AST) -> set[str]:
    """Every name a file binds anywhere (assignments, parameters, definitions, imports)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Store):
                found.add(node.id)
        elif isinstance(node, ast.arg):
            found.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            found.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return found


def top_level_names(tree: ast.Module) -> set[str]:
    bound: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                bound.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names if a.name != "*")
    return bound


def earlier_files(script: str) -> list[str]:
    """The .py files of the script's folder before it in file-name order: the cells that ran
    before it."""
    here = os.path.abspath(script)
    folder = os.path.dirname(here)
    return [os.path.join(folder, n) for n in scripts_of(folder) if n < os.path.basename(here)]


def defining_file(script: str, name: str) -> str | None:
    """The sibling file that defines `name` for `script`: the last one before it in file-name
    order (the cell that ran just before), else the first after it."""
    if name in BUILTINS:
        return None
    here = os.path.abspath(script)
    candidates = [p for p in definitions(os.path.dirname(here)).get(name, ()) if os.path.abspath(p) != here]
    if not candidates:
        return None
    before = [p for p in candidates if os.path.basename(p) < os.path.basename(here)]
    return before[-1] if before else candidates[0]
