"""Mutations of real files for fuzzing bnlint: configs, archive bytes, HDF5 bytes and scripts.

Seeds are the shipped examples (models saved by real Keras 3 and tf_keras) and the test
scripts. The property: bnlint returns, in bounded time, either findings or one line of
error; never an internal error, never a traceback. Used by tests/test_fuzz.py (a few
hundred cases in CI) and tests/fuzz_harness.py (long runs).
"""

from __future__ import annotations

import copy
import json
import time
import zipfile
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from bnlint.linting import Options, lint_paths, report

ROOT = Path(__file__).resolve().parent.parent
KERAS_SEEDS = sorted((ROOT / "examples").glob("*/*.keras"))
H5_SEEDS = sorted((ROOT / "examples").glob("*/*.h5"))
SCRIPT_SEEDS = sorted((ROOT / "tests" / "scripts").glob("*.py")) + sorted((ROOT / "examples").glob("*/*.py"))
DEADLINE = 5  # max-seconds: a file that makes the HDF5 library loop is stopped then
SECONDS = 20

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in a JSON value, as a tuple of keys and indices."""
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths(child, (*prefix, index))
    return found


@st.composite
def mutated_config(draw, config: dict) -> Any:
    """A real config with a few places replaced by other JSON, removed, or duplicated."""
    config = copy.deepcopy(config)
    places = paths(config)[1:]
    for _ in range(draw(st.integers(1, 4))):
        if not places:
            break
        place = places[draw(st.integers(0, len(places) - 1))]
        parent = config
        try:
            for step in place[:-1]:
                parent = parent[step]
            key = place[-1]
            action = draw(st.sampled_from(["replace", "delete", "duplicate", "swap-type"]))
            if action == "replace":
                parent[key] = draw(json_values)
            elif action == "delete":
                del parent[key]
            elif action == "duplicate" and isinstance(parent, list):
                parent.insert(key, copy.deepcopy(parent[key]))
            else:
                old = parent[key]
                parent[key] = [old] if not isinstance(old, list) else (old[0] if old else {})
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed the place
    return config


@st.composite
def flipped_bytes(draw, data: bytes) -> bytes:
    """The file with a few bytes changed, a range zeroed, or its end cut off."""
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 8))):
        action = draw(st.sampled_from(["flip", "zero", "cut"]))
        at = draw(st.integers(0, len(data) - 1))
        if action == "flip":
            data[at] ^= draw(st.integers(1, 255))
        elif action == "zero":
            end = min(len(data), at + draw(st.integers(1, 4096)))
            data[at:end] = bytes(end - at)
        elif len(data) > 1:
            del data[max(1, at) :]
    return bytes(data)


@st.composite
def mutated_script(draw, text: str) -> str:
    """A script with lines deleted, duplicated, swapped or re-indented, or tokens inserted."""
    lines = text.splitlines(keepends=True) or ["\n"]
    for _ in range(draw(st.integers(1, 5))):
        at = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["delete", "duplicate", "swap", "indent", "insert"]))
        if action == "delete" and len(lines) > 1:
            del lines[at]
        elif action == "duplicate":
            lines.insert(at, lines[at])
        elif action == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
        elif action == "indent":
            lines[at] = "    " + lines[at]
        else:
            token = draw(
                st.sampled_from(["(", ")", "[", "]", ":", "lambda", "*", "**", "yield", "await", "None", "..."])
            )
            lines[at] = lines[at].rstrip("\n") + f" {token}\n"
    return "".join(lines)


def keras_with_config(seed: Path, config: Any, target: Path) -> Path:
    with zipfile.ZipFile(seed) as archive, zipfile.ZipFile(target, "w") as out:
        for info in archive.infolist():
            data = archive.read(info)
            out.writestr(info, json.dumps(config) if info.filename == "config.json" else data)
    return target


def config_of(seed: Path) -> dict:
    with zipfile.ZipFile(seed) as archive:
        return json.loads(archive.read("config.json"))


def check(path: Path) -> dict:
    """Lint one file; the fuzzing property holds or an AssertionError says how it failed."""
    started = time.monotonic()
    [result] = report(lint_paths([str(path)], Options(limits=(("max-seconds", DEADLINE),))))["files"]
    elapsed = time.monotonic() - started
    assert elapsed < SECONDS, f"{path.name}: {elapsed:.1f} s"
    error = result["error"]
    if error is not None:
        assert "internal error" not in error, error
        assert "\n" not in error, error
    return result
