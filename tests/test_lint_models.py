"""Linting real Keras-saved models: wiring, semantics per generation, context, outputs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from importlib.metadata import version

import pytest
from findings import said

import bnlint
from bnlint.rules import RULES

FORMATS = [("keras3", "keras"), ("keras3", "h5"), ("keras2", "keras"), ("keras2", "h5"), ("keras2", "savedmodel")]


def diagnostics(path, **options):
    [result] = bnlint.lint(str(path), **options)["files"]
    assert result["error"] is None, result["error"]
    return result["diagnostics"]


def only(diags, code):
    found = [d for d in diags if d["code"] == code]
    assert len(found) == 1, diags
    return found[0]


@pytest.mark.parametrize("generation, fmt", FORMATS)
def test_shared_base_names_the_unprotected_call(models, generation, fmt):
    finding = only(diagnostics(models.path("BN001-2", generation, fmt)), "BN001")
    assert "call 2 of 2" in said(finding)
    assert finding["layer"].endswith("/base")
    assert finding["fix"]["edits"][0] == {
        "kind": "call_kwarg",
        "target": finding["layer"],
        "key": "training",
        "old": None,
        "new": False,
    }


@pytest.mark.parametrize("generation, fmt", FORMATS)
def test_bn001_message_is_version_aware(models, generation, fmt):
    message = said(only(diagnostics(models.path("BN001-0", generation, fmt)), "BN001"))
    if generation == "keras3":
        assert "keras#20285" in message and "set trainable=False on the BN layers" in message
    else:
        assert "base(x, training=False)" in message and "keras#20285" not in message


@pytest.mark.parametrize("generation, fmt", FORMATS)
def test_sequential_wrapper_cannot_pass_training(models, generation, fmt):
    message = said(only(diagnostics(models.path("BN001-1", generation, fmt)), "BN001"))
    assert "Sequential" in message and "cannot pass training=False" in message


@pytest.mark.parametrize("generation, fmt", FORMATS)
def test_unfrozen_base_numbers(models, generation, fmt):
    """BN014 and BN002 on an unfrozen base carry the momentum arithmetic."""
    diags = diagnostics(models.path("BN014-0", generation, fmt), steps=120)
    bn014 = only(diags, "BN014")
    assert "2 BN layers of pretrained base 'base'" in said(bn014)
    assert "momentum 0.99" in said(bn014) and "30% of the pretrained statistics left" in said(bn014)
    bn002 = only(diags, "BN002")
    assert "time constant 100 steps" in said(bn002)
    assert "0.99^120" in said(bn002) and "0.9583" in said(bn002)
    assert [e["new"] for e in bn002["fix"]["edits"]] == [0.9583, 0.9583]
    assert bn002["fix"]["applicability"] == "unsafe"


@pytest.mark.parametrize("generation, fmt", FORMATS)
def test_flat_head_on_base_output(models, generation, fmt):
    """Model(base.input, head): no nested base is left, so only context-driven rules apply."""
    assert diagnostics(models.path("flat-head", generation, fmt)) == []
    codes = {d["code"] for d in diagnostics(models.path("flat-head", generation, fmt), steps=50, batch_size=4)}
    assert codes == {"BN002", "BN003"}


@pytest.mark.parametrize("generation, fmt", FORMATS)
def test_optimizer_iterations_are_the_horizon(models, generation, fmt):
    """A model saved after 4 training steps: 0.99^4 = 96% of the initial statistics remain."""
    bn002 = only(diagnostics(models.path("trained-unfrozen", generation, fmt)), "BN002")
    assert "the 4 steps this model was already trained (optimizer iterations in the file)" in said(bn002)
    assert "96%" in said(bn002)


@pytest.mark.parametrize(
    "text, batch_size",
    [
        ("[tool]\nbnlint = { batch-size = 8 }\n", 8),  # the same table, spelled inline
        ('tool.bnlint."batch-size" = 8\n', 8),  # ... or as dotted keys
        ("[project]\nname = 'x'\n[tool.ruff]\nline-length = 99\n", None),
        ("this is [not toml\n", None),  # someone else's broken file is not a bnlint error
    ],
)
def test_pyproject_settings_in_any_spelling(tmp_path, models, text, batch_size):
    (tmp_path / "pyproject.toml").write_text(text)
    path = tmp_path / "model.keras"
    path.write_bytes(models.path("BN003-0", "keras3", "keras").read_bytes())
    [result] = bnlint.lint(str(path))["files"]
    assert result["error"] is None
    messages = [said(d) for d in result["diagnostics"] if d["code"] == "BN003"]
    if batch_size is None:
        assert not any("pyproject.toml" in m for m in messages)
    else:
        assert any(f"batch size {batch_size} (from pyproject.toml" in m for m in messages), messages


def test_context_priority_cli_over_pyproject(tmp_path, models):
    (tmp_path / "pyproject.toml").write_text("[tool.bnlint]\nbatch-size = 8\nignore = ['BN014']\n")
    model = tmp_path / "model.keras"
    shutil.copy(models.path("BN014-0", "keras3", "keras"), model)

    from_file = diagnostics(model)
    assert {d["code"] for d in from_file} == {"BN002", "BN003"}
    assert "batch size 8 (from pyproject.toml" in said(only(from_file, "BN003"))

    from_cli = diagnostics(model, batch_size=32)
    assert "BN003" not in {d["code"] for d in from_cli}


def test_select_and_ignore(models):
    path = models.path("BN014-0", "keras2", "h5")
    assert {d["code"] for d in diagnostics(path, select=["BN014"])} == {"BN014"}
    assert {d["code"] for d in diagnostics(path, ignore=["BN01"])} == {"BN002"}


def test_json_shape(models):
    result = subprocess.run(
        [sys.executable, "-m", "bnlint", "--format", "json", str(models.path("BN001-0", "keras2", "keras"))],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert set(report) == {"version", "files"}
    [entry] = report["files"]
    assert set(entry) == {"path", "kind", "keras_version", "error", "diagnostics"}
    assert entry["kind"] == "keras" and entry["keras_version"] == version("tf_keras")
    [diag] = entry["diagnostics"]
    assert set(diag) == {"code", "name", "severity", "message", "detail", "layer", "line", "column", "cell", "fix"}
    assert (diag["code"], diag["name"], diag["severity"]) == ("BN001", "frozen-base-training-call", "warning")


def test_text_output_is_plain_when_piped(models):
    path = models.path("BN014-0", "keras3", "keras")
    result = subprocess.run([sys.executable, "-m", "bnlint", str(path)], capture_output=True, text=True)
    assert result.returncode == 1
    assert "\x1b[" not in result.stdout
    lines = result.stdout.splitlines()
    findings = [line for line in lines if line.startswith(f"{path}:")]
    assert [line.split(": ")[1].split()[0] for line in findings] == ["BN002", "BN014"]
    assert lines[-1] == "Found 2 findings (2 infos) in 1 file."  # saved uncompiled: an export, information


def test_clean_model_exits_0(models):
    result = subprocess.run(
        [sys.executable, "-m", "bnlint", str(models.path("BN001-3", "keras2", "h5"))], capture_output=True, text=True
    )
    assert (result.returncode, result.stdout.strip()) == (0, "No BatchNormalization problems found in 1 file.")


def test_directories_are_searched(tmp_path, models):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "venv").mkdir()
    (tmp_path / "venv" / "pyvenv.cfg").write_text("")
    shutil.copy(models.path("BN001-0", "keras3", "keras"), tmp_path / "a" / "b" / "m.keras")
    shutil.copy(models.path("BN001-0", "keras2", "h5"), tmp_path / "a" / "m.h5")
    shutil.copytree(models.path("BN001-0", "keras2", "savedmodel"), tmp_path / "a" / "sm")
    shutil.copy(models.path("BN001-0", "keras3", "keras"), tmp_path / ".hidden" / "x.keras")
    shutil.copy(models.path("BN001-0", "keras3", "keras"), tmp_path / "venv" / "x.keras")
    report = bnlint.lint(str(tmp_path))
    found = sorted((f["path"][len(str(tmp_path)) + 1 :], f["kind"]) for f in report["files"])
    assert found == [("a/b/m.keras", "keras"), ("a/m.h5", "h5"), ("a/sm", "savedmodel")]
    assert all(f["diagnostics"][0]["code"] == "BN001" for f in report["files"])


def test_linting_never_imports_tensorflow_or_keras(models):
    paths = [str(models.path(f"BN0{n}-0", g, fmt)) for n in ("01", "12", "14") for g, fmt in FORMATS]
    code = (
        "import sys, bnlint\n"
        f"report = bnlint.lint({paths!r}, steps=10, batch_size=4)\n"
        "assert all(f['error'] is None for f in report['files']), report\n"
        "assert sum(len(f['diagnostics']) for f in report['files']) > 10\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras'))\n"
        "print(loaded)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_rules_command(models):
    listing = subprocess.run([sys.executable, "-m", "bnlint", "rules"], capture_output=True, text=True)
    assert listing.returncode == 0
    assert [line.split()[0] for line in listing.stdout.splitlines()] == list(RULES)
    page = subprocess.run([sys.executable, "-m", "bnlint", "rules", "bn012"], capture_output=True, text=True)
    assert page.returncode == 0 and "keras#20285" in page.stdout and "Why is this bad?" in page.stdout
    unknown = subprocess.run([sys.executable, "-m", "bnlint", "rules", "BN999"], capture_output=True, text=True)
    assert unknown.returncode == 2 and "unknown rule code" in unknown.stderr
