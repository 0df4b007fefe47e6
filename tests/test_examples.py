"""`bnlint examples/` is the README's first command: it must show the seed's pitfalls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from findings import said

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def lint_examples() -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "bnlint", "--format", "json", str(EXAMPLES)], capture_output=True, text=True
    )
    assert result.returncode == 1, result.stderr
    return json.loads(result.stdout)


def test_examples_show_the_seed_rules_with_numbers():
    report = lint_examples()
    assert all(f["error"] is None for f in report["files"])
    by_file = {Path(f["path"]).relative_to(EXAMPLES).as_posix(): f["diagnostics"] for f in report["files"]}
    codes = {d["code"] for diagnostics in by_file.values() for d in diagnostics}
    assert {"BN001", "BN002", "BN003", "BN012", "BN014"} <= codes
    # Keras 3 ignores training=False under fit(); tf_keras honours it.
    assert "BN012" in {d["code"] for d in by_file["keras3/finetune_with_training_false.keras"]}
    assert "BN012" not in {d["code"] for d in by_file["tf_keras/finetune_with_training_false.keras"]}
    assert by_file["keras3/clean_transfer.keras"] == [] and by_file["tf_keras/clean_transfer.h5"] == []
    bn002 = next(d for d in by_file["keras3/finetune_without_training_false.keras"] if d["code"] == "BN002")
    assert "0.99^4" in said(bn002) and "96%" in said(bn002)


def test_notebook_findings_point_into_cells():
    report = lint_examples()
    [notebook] = [f for f in report["files"] if f["path"].endswith(".ipynb")]
    bn014 = next(d for d in notebook["diagnostics"] if d["code"] == "BN014")
    assert (bn014["cell"], bn014["line"]) == (4, 1)
    assert "model.fit() at cell 5, line 3" in said(bn014)
    assert "base.output (cell 4, line 2)" in said(bn014)


def test_readme_sample_output_is_current():
    """The README's sample output is what bnlint prints today."""
    root = EXAMPLES.parent
    readme = (root / "README.md").read_text()
    command = "bnlint examples/keras3/finetune_with_training_false.keras examples/tf_keras/frozen_base_without_training_false.h5"
    assert f"$ {command}" in readme
    result = subprocess.run(  # the terminal's default style, at the width the README shows
        [sys.executable, "-m", "bnlint", "--output-format", "full", *command.split()[1:]],
        capture_output=True,
        text=True,
        cwd=root,
        env={**os.environ, "COLUMNS": "100"},
    )
    assert result.returncode == 1
    for line in result.stdout.splitlines():
        assert line in readme, f"README sample is stale: {line!r}"
