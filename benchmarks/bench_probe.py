"""What `bnlint probe` and `bnlint recalibrate` cost, whole process, against the code a user
would otherwise write: load the model with its Keras and run `model.predict` over the same
data (one inference pass). Commands run interleaved, --runs times; medians and ratios.

    python benchmarks/bench_probe.py [--runs 3] [--samples 200] [--models MobileNetV2,ResNet50]

Models are keras.applications bases (`weights=None`, statistics made non-trivial), 96x96,
nested in a transfer head and saved by Keras 3; the data is random images (a .npy array).
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

BUILD = """
import sys, numpy as np, keras
name, path = sys.argv[1], sys.argv[2]
keras.utils.set_random_seed(0)
base = getattr(keras.applications, name)(weights=None, include_top=False, input_shape=(96, 96, 3), pooling="avg")
for layer in base.layers:
    if isinstance(layer, keras.layers.BatchNormalization):
        layer.moving_mean.assign(np.full(layer.moving_mean.shape, 0.1, "float32"))
inp = keras.Input((96, 96, 3))
keras.Model(inp, keras.layers.Dense(5)(base(inp)), name="classifier").save(path)
"""

BASELINE = """
import sys, numpy as np, keras
model = keras.models.load_model(sys.argv[1], compile=False)
model.predict(np.load(sys.argv[2]), batch_size=32, verbose=0)
"""


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--models", default="MobileNetV2,ResNet50")
    args = parser.parse_args()
    import numpy as np

    folder = tempfile.mkdtemp(prefix="bench-probe-")
    data = os.path.join(folder, "data.npy")
    np.save(data, np.random.default_rng(0).uniform(-1, 1, (args.samples, 96, 96, 3)).astype("float32"))
    bnlint = [sys.executable, "-m", "bnlint"]
    print(f"{args.samples} images 96x96, CPU ({os.cpu_count()} cores), medians of {args.runs} runs, whole process")
    print("| model | load + predict (baseline) | bnlint probe | ratio | bnlint recalibrate | passes | ratio |")
    print("|---|---|---|---|---|---|---|")
    try:
        for name in args.models.split(","):
            model = os.path.join(folder, f"{name}.keras")
            subprocess.run([sys.executable, "-c", BUILD, name, model], check=True, capture_output=True)
            commands = {
                "baseline": [sys.executable, "-c", BASELINE, model, data],
                "probe": [*bnlint, "probe", model, "--data", data, "--format", "json"],
                "recalibrate": [*bnlint, "recalibrate", model, "--data", data, "-o", model + ".out.keras"],
            }
            for command in commands.values():  # once untimed: bytecode and page caches, as for a user
                timed(command)
            times: dict[str, list[float]] = {key: [] for key in commands}
            for _ in range(args.runs):
                for key, command in commands.items():
                    times[key].append(timed(command))
            passes = subprocess.run(
                [*commands["recalibrate"], "--format", "json"], check=True, capture_output=True, text=True
            )
            count = json.loads(passes.stdout)["passes"]
            base, probe, recal = (statistics.median(times[key]) for key in ("baseline", "probe", "recalibrate"))
            print(
                f"| {name} | {base:.2f} s | {probe:.2f} s | {probe / base:.2f}x | {recal:.2f} s | {count} | "
                f"{recal / base:.2f}x |"
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
