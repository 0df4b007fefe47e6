"""Benchmark: `bnlint --jobs N` against a serial run (`--jobs 1`), whole process.

    pip install -e '.[dev]' && python benchmarks/bench_parallel.py [--scripts 1000] [--models 100] [--runs 5]

The inputs: generated training scripts (bench_scripts.py's generator) and copies of the
shipped example models (saved by real Keras 3 and tf_keras), in one folder tree. Prints
medians of wall time, the speed-up and the peak RSS of the largest process (the parent or
one worker; with N workers the machine holds about N of them). Runs alternate, so a drift
of the machine weighs on both alike. Exits 1 if the speed-up is below 1.7x with 2 or more
CPUs available.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from _measure import bnlint_command, run_once, user_env
from bench_scripts import corpus

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.7


def tree(folder: Path, scripts: int, models: int) -> None:
    (folder / "scripts").mkdir()
    corpus(str(folder / "scripts"), scripts, seed=4)
    examples = sorted(p for p in (ROOT / "examples").glob("*/*") if p.suffix in (".keras", ".h5"))
    (folder / "models").mkdir()
    for index in range(models):
        source = examples[index % len(examples)]
        shutil.copy(source, folder / "models" / f"m{index:03d}{source.suffix}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scripts", type=int, default=1000)
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args()
    env = user_env()
    with tempfile.TemporaryDirectory(prefix="bnlint-parallel-") as folder:
        tree(Path(folder), args.scripts, args.models)
        command = [*bnlint_command(), "--format", "json", folder]
        serial_cmd, parallel_cmd = [*command, "--jobs", "1"], [*command, "--jobs", str(args.jobs)]
        run_once(serial_cmd, env)  # warm-up: bytecode, page cache
        serial, parallel = [], []
        for _ in range(args.runs):
            serial.append(run_once(serial_cmd, env))
            parallel.append(run_once(parallel_cmd, env))
    s_time, p_time = statistics.median(t for t, _ in serial), statistics.median(t for t, _ in parallel)
    s_rss, p_rss = max(m for _, m in serial), max(m for _, m in parallel)
    speedup = s_time / p_time
    print(f"inputs: {args.scripts} scripts, {args.models} models; {args.jobs} jobs; medians of {args.runs} runs")
    print(f"serial (--jobs 1):     {s_time:6.2f} s   peak RSS {s_rss:5.0f} MiB")
    print(f"parallel (--jobs {args.jobs}):  {p_time:6.2f} s   peak RSS {p_rss:5.0f} MiB (largest process)")
    print(f"speed-up: {speedup:.2f}x (target >= {TARGET}x)")
    return 0 if speedup >= TARGET or args.jobs < 2 else 1


if __name__ == "__main__":
    sys.exit(main())
