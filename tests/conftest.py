"""Session fixtures: models built and saved by real Keras 3 and tf_keras.

Building happens once per recipe and Keras version; results are cached under
.fixture-cache/ keyed by the recipe code, the factory's source and the installed
Keras versions, so a second test run starts in seconds.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version
from pathlib import Path

import pytest

from recipes import RECIPES

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("BNLINT_FIXTURE_CACHE", ROOT / ".fixture-cache"))
FACTORY = Path(__file__).with_name("keras_factory.py")
GENERATIONS = ("keras3", "keras2")
PACKAGE = {"keras3": "keras", "keras2": "tf_keras"}


def _key(name: str, generation: str) -> Path:
    recipe = RECIPES[name]
    digest = hashlib.sha256()
    for part in (recipe.code, ",".join(recipe.formats), FACTORY.read_text(), version(PACKAGE[generation])):
        digest.update(part.encode())
    return CACHE / generation / f"{name}-{digest.hexdigest()[:12]}"


def _build(generation: str) -> None:
    jobs = [
        {"name": name, "code": recipe.code, "formats": list(recipe.formats), "out": str(_key(name, generation))}
        for name, recipe in RECIPES.items()
        if generation in recipe.generations
        and not (_key(name, generation) / "truth.json").exists()
        and not (_key(name, generation) / "error.txt").exists()
    ]
    _prune(generation)
    if not jobs:
        return
    CACHE.mkdir(parents=True, exist_ok=True)
    job_file = CACHE / f"jobs-{generation}-{os.getpid()}.json"
    job_file.write_text(json.dumps(jobs))
    try:
        subprocess.run([sys.executable, str(FACTORY), generation, str(job_file)], check=True, timeout=1500)
    finally:
        job_file.unlink(missing_ok=True)


def _prune(generation: str, min_age_s: float = 3600) -> None:
    """Drop cached fixtures no recipe names any more (old code or Keras versions);
    only old ones, so that a concurrent run with other recipes keeps its own."""
    folder = CACHE / generation
    if not folder.is_dir():
        return
    current = {_key(name, generation).name for name in RECIPES}
    for entry in folder.iterdir():
        if entry.name not in current and time.time() - entry.stat().st_mtime > min_age_s:
            shutil.rmtree(entry, ignore_errors=True)


class SavedModels:
    """Paths of saved fixtures: models.path("BN001-0", "keras3", "h5")."""

    def dir(self, name: str, generation: str) -> Path:
        folder = _key(name, generation)
        error = folder / "error.txt"
        if error.exists():
            pytest.fail(f"recipe {name} failed under {generation}:\n{error.read_text()}")
        return folder

    def path(self, name: str, generation: str, fmt: str) -> Path:
        filename = {
            "keras": "model.keras",
            "h5": "model.h5",
            "savedmodel": "savedmodel",
            "weights": "model.weights.h5",
            "legacy-weights": "weights.h5",
            "export": "exported",
        }[fmt]
        return self.dir(name, generation) / filename

    def truth(self, name: str, generation: str) -> dict:
        return json.loads((self.dir(name, generation) / "truth.json").read_text())


@pytest.fixture(scope="session")
def models() -> SavedModels:
    with ThreadPoolExecutor(len(GENERATIONS)) as pool:
        list(pool.map(_build, GENERATIONS))
    return SavedModels()
