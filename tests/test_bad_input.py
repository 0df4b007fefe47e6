"""Bad input: one line `PATH: error: reason`, exit status 2, other files still linted."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile

import h5py
import numpy as np
import pytest

import bnlint

GOOD = ("BN001-0", "keras3", "keras")


def run_cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bnlint", *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def _truncated(tmp_path, models, fmt):
    source = models.path("BN001-0", "keras2", fmt).read_bytes()
    target = tmp_path / f"truncated.{fmt}"
    target.write_bytes(source[: len(source) // 3])
    return target


def _zip_without_config(tmp_path, models):
    target = tmp_path / "noconfig.keras"
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr("metadata.json", "{}")
    return target


def _invalid_json(tmp_path, models):
    target = tmp_path / "badjson.keras"
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr("config.json", "{not json")
    return target


def _not_keras_h5(tmp_path, models):
    target = tmp_path / "data.h5"
    with h5py.File(target, "w") as handle:
        handle["x"] = np.arange(3)
    return target


def _empty(tmp_path, models):
    target = tmp_path / "empty.h5"
    target.write_bytes(b"")
    return target


def _text_as_model(tmp_path, models):
    target = tmp_path / "notes.keras"
    target.write_text("hello")
    return target


def _empty_dir(tmp_path, models):
    target = tmp_path / "nothing_here"
    target.mkdir()
    (target / "readme.txt").write_text("no models")
    return target


def _missing(tmp_path, models):
    return tmp_path / "does-not-exist.keras"


def _weights_only(generation):
    return lambda tmp_path, models: models.path("weights-only", generation, "weights")


def _export(tmp_path, models):
    return models.path("weights-only", "keras3", "export")


def _bad_metadata(tmp_path, models):
    target = tmp_path / "broken_sm"
    shutil.copytree(models.path("BN001-0", "keras2", "savedmodel"), target)
    (target / "keras_metadata.pb").write_bytes(b"\x0a\xff\xff\xff\xff\x0f")
    return target


BAD = {
    "empty file": (_empty, "empty file"),
    "truncated zip": (lambda t, m: _truncated(t, m, "keras"), "zip"),
    "truncated h5": (lambda t, m: _truncated(t, m, "h5"), "HDF5"),
    "h5 that is not a Keras model": (_not_keras_h5, "not a Keras model"),
    "zip without config.json": (_zip_without_config, "no config.json"),
    "invalid JSON": (_invalid_json, "not valid JSON"),
    "text file named .keras": (_text_as_model, "not a Keras model"),
    "directory with no model": (_empty_dir, "no Keras model"),
    "path that does not exist": (_missing, "no such file"),
    "Keras 3 weights-only file": (_weights_only("keras3"), "weights-only"),
    "tf_keras save_weights file": (_weights_only("keras2"), "weights-only"),
    "Keras 3 model.export()": (_export, "no Keras architecture"),
    "corrupt keras_metadata.pb": (_bad_metadata, "protobuf"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_clean_line(tmp_path, models, case):
    make, reason = BAD[case]
    bad = make(tmp_path, models)
    good = models.path(*GOOD)
    result = run_cli(bad, good)

    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    error_lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert error_lines == [error_lines[0]] and error_lines[0].startswith(f"{bad}: error: ")
    assert reason.lower() in error_lines[0].lower()
    # The good file after the bad one is still linted.
    assert f"{good}:" in result.stdout and "BN001" in result.stdout


def test_bad_input_in_json(tmp_path, models):
    bad = _empty(tmp_path, models)
    result = run_cli("--format", "json", bad, models.path(*GOOD))
    report = json.loads(result.stdout)
    assert result.returncode == 2
    assert [f["error"] for f in report["files"]] == ["empty file", None]
    assert report["files"][1]["diagnostics"][0]["code"] == "BN001"


def test_unknown_setting_in_pyproject_is_a_clean_error(tmp_path, models):
    (tmp_path / "pyproject.toml").write_text("[tool.bnlint]\nbatch_sise = 8\n")
    shutil.copy(models.path(*GOOD), tmp_path / "m.keras")
    result = run_cli(tmp_path / "m.keras")
    assert result.returncode == 2
    assert "unknown setting 'batch_sise'" in result.stderr and "did you mean 'batch-size'?" in result.stderr
    assert "Traceback" not in result.stderr


def test_usage_error_exit_2(models):
    result = run_cli("check", models.path(*GOOD), "--format", "xml")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_a_rejected_file_keeps_the_keras_version_it_records(models):
    """A tf_keras save_weights file is refused (no architecture), but says which Keras wrote it."""
    [result] = bnlint.lint(str(models.path("weights-only", "keras2", "legacy-weights")))["files"]
    assert "weights-only" in result["error"]
    assert result["keras_version"] is not None and result["keras_version"].startswith("2.")
