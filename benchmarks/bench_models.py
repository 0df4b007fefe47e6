"""Benchmark: `bnlint` on large saved models versus loading them with Keras.

    pip install -e '.[dev]' && python benchmarks/bench_models.py [--runs 15]

Baseline: what a user would otherwise write, `keras.models.load_model(path)` and a
walk over the BN layers, run as its own process like bnlint. Models are
keras.applications built with weights=None (nothing downloaded) and cached in
benchmarks/.cache/. ResNet152 is ~2.4x ResNet50's weight bytes: bnlint's peak
memory should not grow with it, the baseline's does.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from _measure import bnlint_command, measure_together, print_heading, print_rss_scaling

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.join(HERE, ".cache")
MODELS = ("ResNet50", "ResNet152")
FORMATS = (".keras", ".h5")

BUILD = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import keras
model = getattr(keras.applications, sys.argv[1])(weights=None)
for suffix in sys.argv[3:]:
    model.save(sys.argv[2] + suffix)
"""

BASELINE = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import keras
model = keras.models.load_model(sys.argv[1], compile=False)
def walk(layer):
    yield layer
    for child in getattr(layer, "layers", []):
        yield from walk(child)
bn = [(l.name, l.momentum) for l in walk(model) if isinstance(l, keras.layers.BatchNormalization)]
print(len(bn))
"""


def ensure_models(build: str = BUILD, variant: str = "") -> dict[str, str]:
    """Case name -> cached model file; `build` saves a model (argv: application, stem, suffixes)."""
    os.makedirs(CACHE, exist_ok=True)
    paths = {}
    for name in MODELS:
        stem = os.path.join(CACHE, name.lower() + (f"-{variant}" if variant else ""))
        missing = [s for s in FORMATS if not os.path.exists(stem + s)]
        if missing:
            print(f"building {name} {variant} ({', '.join(missing)}) ...", flush=True)
            subprocess.run([sys.executable, "-c", build, name, stem, *missing], check=True)
        for suffix in FORMATS:
            paths[name + suffix] = stem + suffix
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per bnlint case (median reported; cheap)")
    parser.add_argument("--baseline-runs", type=int, default=3, help="runs per Keras baseline case")
    args = parser.parse_args()

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    bnlint = [*bnlint_command(), "--format", "json"]
    rows = []
    for case, path in ensure_models().items():
        size = os.path.getsize(path) / 2**20
        both = measure_together(
            {
                "bnlint": ([*bnlint, path], args.runs),
                "keras": ([sys.executable, "-c", BASELINE, path], args.baseline_runs),
            },
            env,
        )
        rows.append((case, size, both["bnlint"], both["keras"]))

    print_heading(
        "bnlint vs baseline (keras.models.load_model + walk BN layers), whole process, median of runs",
        f"{'model':<18}{'file MiB':>9}{'bnlint s':>10}{'keras s':>9}{'speed-up':>10}{'bnlint RSS':>12}{'keras RSS':>11}",
    )
    for case, size, ours, theirs in rows:
        print(
            f"{case:<18}{size:>9.0f}{ours['median_s']:>10.3f}{theirs['median_s']:>9.2f}"
            f"{theirs['median_s'] / ours['median_s']:>9.1f}x"
            f"{ours['peak_rss_mib']:>10.0f}Mi{theirs['peak_rss_mib']:>9.0f}Mi"
        )
    print_rss_scaling(
        {case: ours["peak_rss_mib"] for case, _, ours, _ in rows},
        {case: size for case, size, _, _ in rows},
        FORMATS,
        {"keras": {case: theirs["peak_rss_mib"] for case, _, _, theirs in rows}},
    )


if __name__ == "__main__":
    main()
