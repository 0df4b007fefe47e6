"""Helpers shared by the --fix tests: private copies of saved fixtures and content hashes."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

FILENAMES = {"keras": "model.keras", "h5": "model.h5", "savedmodel": "savedmodel"}
CASES_FORMATS = [("keras3", "keras"), ("keras3", "h5"), ("keras2", "keras"), ("keras2", "h5"), ("keras2", "savedmodel")]


def copy_model(models, name: str, generation: str, fmt: str, folder: Path) -> Path:
    """A private copy of a fixture, so a test may rewrite it."""
    source = models.path(name, generation, fmt)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / FILENAMES[fmt]
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copyfile(source, target)
    return target


def digest(path: Path) -> str:
    """sha256 over a file, or over every file of a directory (names included)."""
    hasher = hashlib.sha256()
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    for item in sorted(p for p in path.rglob("*") if p.is_file()):
        hasher.update(str(item.relative_to(path)).encode())
        hasher.update(item.read_bytes())
    return hasher.hexdigest()


def leftovers(folder: Path) -> list[str]:
    """Temporary files or directories a fix left behind."""
    return sorted(name for name in os.listdir(folder) if ".bnlint-" in name)


def cli(*args) -> subprocess.CompletedProcess:
    """The bnlint command line, as a user runs it."""
    command = [sys.executable, "-m", "bnlint", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)
