"""`--verify`: check a fixed model with the Keras generation that wrote it, before it
replaces the original. Keras runs in a subprocess (bnlint.verify_worker): the lint
process never imports TensorFlow, and Keras 3 and tf_keras never share an interpreter.

What is checked: the same random batch gives the same predictions in inference mode
(bit-identical, except fixes that change weights or the BN kernel: BN008's fold and
Batch Renormalization, where float rounding is allowed), no weight changes except
those a fix is about, and each fix in effect under fit() (see verify_worker).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from typing import Any

from .edits import Change
from .errors import InputError
from .graph import Generation, generation_of

TIMEOUT = 1800
ROUNDING = 1e-5  # relative tolerance for fixes that change weights
APPROXIMATE = {"use_bias", "renorm", "renorm_clipping", "renorm_momentum", "moving_mean"}


def checks_for(changes: Iterable[Change]) -> list[dict[str, Any]]:
    """The in-effect checks the worker runs for a list of changes."""
    checks: list[dict[str, Any]] = []
    frozen = []
    for change in changes:
        if change.setting.endswith("training") and change.new is False:
            checks.append({"kind": "protected", "layer": change.layer})
        elif change.setting in ("trainable", "momentum", "use_bias", "renorm", "epsilon"):
            checks.append({"kind": "attribute", "layer": change.layer, "name": change.setting, "value": change.new})
            if change.setting == "trainable" and change.new is False:
                frozen.append(change.layer)
    if frozen:
        checks.append({"kind": "frozen", "layers": frozen})
    return checks


def exact(changes: Iterable[Change]) -> bool:
    return not any(change.setting in APPROXIMATE for change in changes)


def run_jobs(generation: str, jobs: list[dict[str, Any]], timeout: float = TIMEOUT) -> list[dict[str, Any]]:
    """Run verification jobs in one subprocess of the given Keras generation."""
    from .verify_worker import MARK

    if generation not in ("keras3", "keras2"):
        raise InputError(f"--verify supports files written by Keras 3 or tf_keras, not {generation} Keras")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bnlint.verify_worker", generation],
            input=json.dumps(jobs),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
    except subprocess.TimeoutExpired:
        raise InputError(f"--verify: Keras did not finish within {timeout:.0f} s") from None
    line = next((line for line in done.stdout.splitlines() if line.startswith(MARK)), None)
    if line is None:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        if "No module named" in done.stderr:
            last += " (install the tensorflow extra: pip install 'bnlint[tensorflow]')"
        raise InputError(f"--verify: Keras could not run ({last})")
    return json.loads(line[len(MARK) :])


def judge(result: dict[str, Any], changes: list[Change], weight_fix: bool) -> str | None:
    """Why a verification result is not acceptable, or None if it is."""
    if result.get("original_fails"):
        why = " (bnlint never loads a model with safe_mode off)" if "safe_mode" in result["error"] else ""
        return f"Keras cannot load or run the original model either, nothing to compare with: {result['error']}{why}"
    if result.get("error"):
        return f"Keras could not load or run the fixed model ({result['error']})"
    if result["nan"]:
        return "the fixed model predicts NaN"
    tolerance = 0.0 if exact(changes) else ROUNDING * max(1.0, result.get("scale", 1.0))
    if result["max_abs_diff"] > tolerance:
        return f"predictions differ by {result['max_abs_diff']:.3g} in inference mode"
    weights = result["weights"]
    if not weight_fix and any(weights.values()):
        return f"weights changed that no fix is about: {sorted(sum(weights.values(), []))[:3]}"
    failed = [c["detail"] for c in result["checks"] if not c["ok"]]
    return f"fix not in effect: {failed[0]}" if failed else None


def verify_before_commit(report: Any, kind: str, keras_version: str | None) -> Callable[[str], None]:
    """A check for ModelFile.save: verify the temporary result against the original."""
    generation = generation_of(keras_version)

    def check(temp: str) -> None:
        if generation is Generation.LEGACY:
            raise InputError("--verify needs a file written by Keras 3 or tf_keras; nothing was written")
        changes = report.changes
        job = {
            "original": report.before.path if kind != "savedmodel" else _directory(report.before.path),
            "fixed": temp,
            "checks": checks_for(changes),
            "batch_size": None,
        }
        [result] = run_jobs(generation.value, [job])
        weight_fix = any(change.setting in APPROXIMATE for change in changes)
        problem = judge(result, changes, weight_fix)
        report.verification = result | {"ok": problem is None, "problem": problem}
        if problem is not None:
            raise InputError(f"verification failed: {problem}; nothing was written")

    return check


def _directory(path: str) -> str:
    return path if os.path.isdir(path) else os.path.dirname(path) or "."
