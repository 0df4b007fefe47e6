"""Benchmark: `bnlint --fix` on ~100 MB models versus copying the file.

    pip install -e '.[dev]' && python benchmarks/bench_fix.py [--runs 7]

Models: a ResNet50 (weights=None, with top: 98 MB of weights) and a ResNet152 (233 MB)
nested unfrozen in a transfer-learning head, so that BN014 freezes their BN layers
(a config-only fix: in .h5 it also reorders weight_names). Built with Keras 3 and cached
in benchmarks/.cache/.

Two measurements, both against shutil.copy of the same file in the same run:
- the write: opening the model, applying the fix and writing it atomically (temp file,
  fsync, rename), in-process, versus shutil.copy, and versus copy + fsync (what a
  durable copy costs). Target: at most 2x the copy.
- the whole command, `bnlint --fix -o OUT MODEL` as a process (imports, lint, write,
  re-lint), versus a process that copies: wall time and peak RSS (the child's own
  ru_maxrss). Target: peak RSS does not grow with the weight size (ResNet152/ResNet50).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from _measure import bnlint_command, measure_together, print_heading, print_rss_scaling
from bench_models import CACHE, FORMATS, HERE, ensure_models

BUILD = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import keras
base = getattr(keras.applications, sys.argv[1])(weights=None, input_shape=(224, 224, 3))
inp = keras.Input((224, 224, 3))
model = keras.Model(inp, keras.layers.Dense(2)(base(inp)))
for suffix in sys.argv[3:]:
    model.save(sys.argv[2] + suffix)
"""
COPY_COMMAND = [sys.executable, "-c", "import shutil, sys; shutil.copy(sys.argv[1], sys.argv[2])"]


def write_step(path: str, folder: str, runs: int) -> dict[str, float]:
    """Median seconds of the fix's write versus copying, interleaved in one process (a
    child: this parent stays small, or its size would show in the children's ru_maxrss,
    which counts the memory a forked child shares before it execs)."""
    code = "import json, sys; from bench_fix import _write_step; print(json.dumps(_write_step(*sys.argv[1:3], int(sys.argv[3]))))"
    done = subprocess.run(
        [sys.executable, "-c", code, path, folder, str(runs)], capture_output=True, text=True, cwd=HERE
    )
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def _write_step(path: str, folder: str, runs: int) -> dict[str, float]:
    from bnlint.cli import tune_interpreter
    from bnlint.context import from_options
    from bnlint.detect import kind_of
    from bnlint.edits import apply_fix
    from bnlint.linting import Options, lint_file
    from bnlint.writers import open_model

    tune_interpreter()  # as `bnlint --fix` runs
    kind = kind_of(path)
    fixes = [d.fix for d in lint_file(path, Options(select=("BN014",), context=from_options("bench"))).diagnostics]
    assert fixes, "BN014 should fire on the unfrozen base"
    samples: dict[str, list[float]] = {"fix": [], "copy": [], "copy+fsync": []}
    target = os.path.join(folder, "out" + os.path.splitext(path)[1])
    for _ in range(runs):
        _settle()
        start = time.perf_counter()
        model = open_model(path, kind)
        for fix in fixes:
            apply_fix(model.documents, fix, model.rules)
        model.save(target, [])
        samples["fix"].append(time.perf_counter() - start)
        os.unlink(target)
        _settle()
        start = time.perf_counter()
        shutil.copy(path, target)
        samples["copy"].append(time.perf_counter() - start)
        os.unlink(target)
        _settle()
        start = time.perf_counter()
        shutil.copy(path, target)
        with open(target, "rb") as handle:
            os.fsync(handle.fileno())
        samples["copy+fsync"].append(time.perf_counter() - start)
        os.unlink(target)
    return {key: statistics.median(values) for key, values in samples.items()}


def _settle() -> None:
    """Let the previous run's write-back and freed blocks reach the disk before timing the
    next one: otherwise each run pays part of the one before it (unlinking 100 MB)."""
    os.sync()
    time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per case (medians reported)")
    args = parser.parse_args()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    rows = []
    with tempfile.TemporaryDirectory(dir=CACHE if os.path.isdir(CACHE) else None) as folder:
        for case, path in ensure_models(BUILD, "transfer").items():
            size = os.path.getsize(path) / 2**20
            write = write_step(path, folder, args.runs)
            out = os.path.join(folder, "cli" + os.path.splitext(path)[1])
            command = [*bnlint_command(), "--fix", "--select", "BN014", "-o", out, path]
            # OUT exists after the first run: replaced, as in place
            both = measure_together({"fix": (command, args.runs), "copy": ([*COPY_COMMAND, path, out], args.runs)}, env)
            whole, copy = both["fix"], both["copy"]
            rows.append((case, size, write, whole, copy))

    print_heading(
        "write step, in-process (median s): open + fix + atomic write with fsync, versus shutil.copy",
        f"{'model':<16}{'MiB':>6}{'fix':>8}{'copy':>8}{'copy+fsync':>12}{'fix/copy':>10}{'fix/(copy+fsync)':>18}",
    )
    for case, size, write, _, _ in rows:
        print(
            f"{case:<16}{size:>6.0f}{write['fix']:>8.3f}{write['copy']:>8.3f}{write['copy+fsync']:>12.3f}"
            f"{write['fix'] / write['copy']:>9.2f}x{write['fix'] / write['copy+fsync']:>17.2f}x"
        )
    print_heading(
        "whole process (median s, peak RSS): bnlint --fix -o OUT versus python copying the file",
        f"{'model':<16}{'bnlint s':>9}{'copy s':>8}{'bnlint RSS':>12}{'copy RSS':>10}",
    )
    for case, _, _, whole, copy in rows:
        print(
            f"{case:<16}{whole['median_s']:>9.3f}{copy['median_s']:>8.3f}"
            f"{whole['peak_rss_mib']:>10.0f}Mi{copy['peak_rss_mib']:>8.0f}Mi"
        )
    print_rss_scaling(
        {case: whole["peak_rss_mib"] for case, _, _, whole, _ in rows}, {case: size for case, size, *_ in rows}, FORMATS
    )


if __name__ == "__main__":
    main()
