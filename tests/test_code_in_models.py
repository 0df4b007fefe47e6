"""BN013: models that run code when loaded are reported, and bnlint itself never runs
that code nor imports TensorFlow or Keras (checked in a fresh interpreter)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from findings import said

import bnlint

FORMATS = [
    pytest.param(generation, fmt, id=f"{generation}-{fmt}")
    for generation in ("keras3", "keras2")
    for fmt in ("keras", "h5", "savedmodel")
    if not (generation == "keras3" and fmt == "savedmodel")
]

# Lint and inspect in a fresh interpreter, then report what it imported.
PROBE = """
import json, sys
import bnlint
from bnlint.inventory import inspect_file
report = bnlint.lint(sys.argv[1])
inventory, error = inspect_file(sys.argv[1])
print(json.dumps({
    "codes": [d["code"] for d in report["files"][0]["diagnostics"]],
    "error": report["files"][0]["error"] or error,
    "imported": sorted(m for m in ("tensorflow", "keras", "tf_keras", "jax", "torch") if m in sys.modules),
}))
"""


def _env(marker) -> dict:
    return {**os.environ, "BNLINT_MARKER": str(marker), "TF_CPP_MIN_LOG_LEVEL": "3"}


@pytest.mark.parametrize("generation, fmt", FORMATS)
def test_lambda_is_reported_and_never_run(models, tmp_path, generation, fmt):
    marker = tmp_path / "marker"
    path = models.path("i3-marker-lambda", generation, fmt)
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True, env=_env(marker), timeout=120
    )
    assert probe.returncode == 0, probe.stderr
    seen = json.loads(probe.stdout)
    assert seen["error"] is None
    assert "BN013" in seen["codes"]
    assert seen["imported"] == []
    cli = subprocess.run([sys.executable, "-m", "bnlint", str(path)], capture_output=True, text=True, env=_env(marker))
    assert "Lambda 'touch' runs code when the model is loaded: Python bytecode in 'function'" in cli.stdout
    assert not marker.exists()


def test_the_marker_lambda_does_run_when_keras_loads_it(models, tmp_path):
    """Control: the fixture really executes its code on load (tf_keras .h5 has no
    safe_mode), so the test above would notice if bnlint ever ran it."""
    marker = tmp_path / "marker"
    load = "import sys, tf_keras; tf_keras.models.load_model(sys.argv[1])"
    path = models.path("i3-marker-lambda", "keras2", "h5")
    process = subprocess.run(
        [sys.executable, "-c", load, str(path)], capture_output=True, text=True, env=_env(marker), timeout=300
    )
    assert process.returncode == 0, process.stderr[-2000:]
    assert marker.exists()


def test_custom_objects_outside_keras(models):
    [result] = bnlint.lint(str(models.path("i3-custom-objects", "keras3", "keras")), select=["BN013"])["files"]
    messages = {d["layer"]: said(d) for d in result["diagnostics"]}
    assert set(messages) == {"functional/dense_custom", "functional/scale", None}  # the loss once, for the model
    assert "function 'swishish' from module 'builtins'" in messages["functional/dense_custom"]
    assert "custom object 'acme>Scale'" in messages["functional/scale"]
    assert "function 'halved_mse' from module 'builtins'" in messages[None]
    assert "compile=False" in messages[None]
    assert {d["severity"] for d in result["diagnostics"]} == {"info"}


def _cli(marker, *args):
    return subprocess.run(
        [sys.executable, "-m", "bnlint", *map(str, args)], capture_output=True, text=True, env=_env(marker), timeout=600
    )


def test_fix_never_runs_model_code(models, tmp_path):
    marker = tmp_path / "marker"
    path = models.path("i3-marker-lambda-fixable", "keras2", "h5")
    fixed = tmp_path / "fixed.h5"
    done = _cli(marker, "--fix", "--unsafe-fixes", "-o", fixed, path)
    assert fixed.exists(), done.stdout + done.stderr  # BN008's fold was written
    assert "BN013" in _cli(marker, fixed).stdout  # the Lambda is still there, still reported
    assert not marker.exists()


def test_verify_refuses_a_model_that_holds_code(models, tmp_path):
    marker = tmp_path / "marker"
    path = models.path("i3-marker-lambda-fixable", "keras2", "h5")
    fixed = tmp_path / "fixed.h5"
    done = _cli(marker, "--fix", "--verify", "-o", fixed, path)
    assert done.returncode == 2
    assert "--trust-model-code" in done.stdout + done.stderr and "Python bytecode" in done.stdout + done.stderr
    assert not fixed.exists() and not marker.exists()


def test_trust_model_code_lets_verify_load_it(models, tmp_path):
    """Control: with the trust flag, --verify loads the model with tf_keras, which runs the
    Lambda's bytecode; the refusal above is what keeps the marker from being written."""
    marker = tmp_path / "marker"
    path = models.path("i3-marker-lambda-fixable", "keras2", "h5")
    _cli(marker, "--fix", "--verify", "--trust-model-code", "-o", tmp_path / "fixed.h5", path)
    assert marker.exists()
