"""Run a piece of test code under one Keras generation, in a subprocess of its own (the test
process never imports TensorFlow, and Keras 3 and tf_keras never share an interpreter). The
code imports keras_factory (which picks the generation from argv[1]) and prints its result as
JSON on its last line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def run_in_keras(code: str, generation: str, *args: str, timeout: float = 900) -> Any:
    env = {**os.environ, "BNLINT_TESTS": str(Path(__file__).parent), "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-c", code, generation, *args], capture_output=True, text=True, timeout=timeout, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])
