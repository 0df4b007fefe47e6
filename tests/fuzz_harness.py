"""Long fuzzing runs outside CI, with the strategies of tests/test_fuzz.py.

    BNLINT_TRACEBACK=1 python tests/fuzz_harness.py [--examples 2000] [--target configs|bytes|scripts|all]

Random (not derandomized) cases of every seed; the first failure of each target is shrunk
by hypothesis and printed with its traceback. BNLINT_TRACEBACK=1 makes an internal error
raise where it happens instead of becoming the file's error line. Prints how many cases
ran per target.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import traceback
from pathlib import Path

import fuzzing
from fuzzing import (
    H5_SEEDS,
    KERAS_SEEDS,
    SCRIPT_SEEDS,
    config_of,
    flipped_bytes,
    keras_with_config,
    mutated_config,
    mutated_script,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

CASES = [0]


def check(path: Path) -> None:
    CASES[0] += 1
    fuzzing.check(path)


def targets(folder: Path):
    def configs(seed):
        return given(mutated_config(config_of(seed)))(
            lambda config: check(keras_with_config(seed, config, folder / "case.keras"))
        )

    def corrupt(seed):
        def run(data):
            target = folder / f"case{seed.suffix}"
            target.write_bytes(data)
            check(target)

        return given(flipped_bytes(seed.read_bytes()))(run)

    def script(text):
        target = folder / "case.py"
        target.write_text(text)
        check(target)

    yield "configs", [configs(seed) for seed in KERAS_SEEDS]
    yield "bytes", [corrupt(seed) for seed in KERAS_SEEDS + H5_SEEDS]
    yield "scripts", [given(st.sampled_from(SCRIPT_SEEDS).flatmap(lambda s: mutated_script(s.read_text())))(script)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=2000, help="cases per target")
    parser.add_argument("--target", default="all", choices=["configs", "bytes", "scripts", "all"])
    args = parser.parse_args()
    failed = 0
    with tempfile.TemporaryDirectory() as folder:
        for name, tests in targets(Path(folder)):
            if args.target not in (name, "all"):
                continue
            per_test = max(1, args.examples // len(tests))
            CASES[0] = 0
            for test in tests:
                try:
                    settings(max_examples=per_test, deadline=None, suppress_health_check=list(HealthCheck))(test)()
                except Exception:  # noqa: BLE001 - report and go on with the next seed
                    failed += 1
                    traceback.print_exc()
            print(f"{name}: {CASES[0]} cases", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    sys.exit(main())
