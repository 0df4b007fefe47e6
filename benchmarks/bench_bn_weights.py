"""Benchmark: reading BN weights costs no memory that grows with the model.

    python benchmarks/bench_bn_weights.py [--runs 9]

On the ResNet50 (~100 MB) and ResNet152 (~240 MB) files of bench_models.py, compares
`bnlint --select BN001` (config only, no weights read) with `--select BN005,BN006` (the
BN arrays of all 53 / 155 BN layers read and checked) and `bnlint inspect` (the same
arrays, summarized). Peak RSS should be the same in all three columns and for both
models: only BN arrays are read, lazily, straight from the file.
"""

from __future__ import annotations

import argparse
import os

from _measure import bnlint_command, measure_together
from bench_models import ensure_models

CASES = {
    "config only": ["--select", "BN001"],
    "BN005+BN006": ["--select", "BN005,BN006"],
    "inspect": None,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="runs per case (median time, max peak RSS)")
    args = parser.parse_args()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    print(f"{'model':<18}{'file MiB':>9}" + "".join(f"{name + ' s / RSS':>26}" for name in CASES))
    for case, path in ensure_models().items():
        commands = {
            name: ([*bnlint_command(), *(["inspect", path] if extra is None else [path, *extra])], args.runs)
            for name, extra in CASES.items()
        }
        results = measure_together(commands, env).values()
        cells = [f"{r['median_s']:>12.3f} s / {r['peak_rss_mib']:>5.0f} Mi" for r in results]
        print(f"{case:<18}{os.path.getsize(path) / 2**20:>9.0f}" + "".join(f"{cell:>26}" for cell in cells))


if __name__ == "__main__":
    main()
