"""Configuration (bnlint.toml, .bnlint.toml, [tool.bnlint], --config) and the CI options:
per-file-ignores, exclude, ignore-layers, extend-select, --statistics, --exit-zero,
--fail-on, --output-file, --show-files, --show-settings, --jobs and colours."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import bnlint
from bnlint import linting
from bnlint.linting import Options, files_to_lint

REAL_LINT_FILE = linting.lint_file

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "examples" / "scripts" / "finetune_xception.py"  # BN012 and more
MODEL = ("BN001-0", "keras3", "keras")  # BN001 on layer path classifier/... of a nested base


def run(*args, cwd=None, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bnlint", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def codes(path, **options) -> set[str]:
    [result] = bnlint.lint(str(path), **options)["files"]
    assert result["error"] is None, result["error"]
    return {d["code"] for d in result["diagnostics"]}


@pytest.fixture
def project(tmp_path, models):
    """A repository with a script and a model in subfolders."""
    (tmp_path / "train").mkdir()
    (tmp_path / "models").mkdir()
    shutil.copy(SCRIPT, tmp_path / "train" / "finetune.py")
    shutil.copy(models.path(*MODEL), tmp_path / "models" / "classifier.keras")
    return tmp_path


def test_nearest_configuration_wins(project):
    script = project / "train" / "finetune.py"
    everything = codes(script)
    assert "BN012" in everything
    (project / "pyproject.toml").write_text('[tool.bnlint]\nignore = ["BN012"]\n')
    assert codes(script) == everything - {"BN012"}
    (project / "train" / ".bnlint.toml").write_text('select = ["BN012"]\n')
    assert codes(script) == {"BN012"}  # the nearer file, alone: no merging with the one above
    (project / "train" / "bnlint.toml").write_text("ignore = []\n")
    assert codes(script) == everything  # bnlint.toml before .bnlint.toml in one folder


def test_thresholds_from_the_configuration_and_the_command_line(project):
    """min-batch-size (BN003) and horizon-factor (BN002) have defaults, yet a configuration
    file still sets them, and the command line still overrides the file."""
    model = project / "models" / "head.keras"
    shutil.copy(ROOT / "examples" / "keras3" / "tiny_batch_head.keras", model)  # trains on batches of 2
    assert "BN003" in codes(model)
    (project / "bnlint.toml").write_text("min-batch-size = 2\n")
    assert "BN003" not in codes(model)
    assert "BN003" in codes(model, min_batch_size=4)

    finetuned = project / "models" / "finetuned.keras"  # m = 0.99: a time constant of 100 steps
    shutil.copy(ROOT / "examples" / "keras3" / "finetune_without_training_false.keras", finetuned)
    assert "BN002" in codes(finetuned, steps=300)  # 300 < 5 x 100: 4.9% of the old statistics left
    (project / "bnlint.toml").write_text("horizon-factor = 2\n")
    assert "BN002" not in codes(finetuned, steps=300)  # 300 >= 2 x 100: forgotten enough
    assert "BN002" in codes(finetuned, steps=300, horizon_factor=4)
    assert "horizon-factor=2 (bnlint.toml)" in run("--steps", "300", finetuned).stdout  # the context line says so


def test_pyproject_without_a_bnlint_table_is_passed_over(project):
    (project / "bnlint.toml").write_text('ignore = ["BN012"]\n')
    (project / "train" / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert "BN012" not in codes(project / "train" / "finetune.py")


def test_config_option_replaces_discovery(project, tmp_path_factory):
    (project / "bnlint.toml").write_text('ignore = ["BN012"]\n')
    elsewhere = tmp_path_factory.mktemp("cfg") / "strict.toml"
    elsewhere.write_text('select = ["BN012"]\n')
    done = run("--format", "json", "--config", elsewhere, project / "train" / "finetune.py")
    [result] = json.loads(done.stdout)["files"]
    assert {d["code"] for d in result["diagnostics"]} == {"BN012"}


def test_extend_select_adds_to_the_selection(project):
    (project / "bnlint.toml").write_text('select = ["BN002"]\nextend-select = ["BN012"]\n')
    assert codes(project / "train" / "finetune.py") <= {"BN002", "BN012"}
    assert "BN012" in codes(project / "train" / "finetune.py")


def test_per_file_ignores_on_scripts_and_models(project):
    (project / "bnlint.toml").write_text(
        '[per-file-ignores]\n"train/*.py" = ["BN012"]\n"models/classifier.keras" = ["BN001"]\n'
    )
    assert "BN012" not in codes(project / "train" / "finetune.py")
    assert "BN001" not in codes(project / "models" / "classifier.keras")


def test_ignore_layers_matches_layer_paths(project):
    model = project / "models" / "classifier.keras"
    [finding] = [d for d in bnlint.lint(str(model))["files"][0]["diagnostics"] if d["code"] == "BN001"]
    (project / "bnlint.toml").write_text(f'ignore-layers = ["*/{finding["layer"].rsplit("/", 1)[-1]}"]\n')
    assert "BN001" not in codes(model)
    (project / "bnlint.toml").write_text('ignore-layers = ["nothing/*"]\n')
    assert "BN001" in codes(model)


def test_exclude_applies_to_searched_folders_and_with_force_exclude_to_named_files(project):
    (project / "bnlint.toml").write_text('exclude = ["models/"]\nextend-exclude = ["*.ipynb"]\n')
    (project / "train" / "scratch.ipynb").write_text("{}")
    found = [Path(p).relative_to(project).as_posix() for p in files_to_lint([str(project)], Options())]
    assert found == ["train/finetune.py"]
    named = str(project / "models" / "classifier.keras")
    assert files_to_lint([named], Options()) == [named]  # named on the command line: linted
    assert files_to_lint([named], Options(force_exclude=True)) == []  # as pre-commit passes files


@pytest.mark.parametrize(
    "content, said",
    [
        ("batch_sise = 8\n", "unknown setting 'batch_sise'"),
        ('select = "BN001"\nexclude = 3\n', "exclude must be a list of strings"),
        ('[per-file-ignores]\n"*.py" = 5\n', 'per-file-ignores."*.py" must be a list of rule codes'),
        ("min-batch-size = -1\n", "min-batch-size must be a positive integer"),
        ("max-seconds = true\n", "max-seconds must be a positive integer"),
    ],
)
def test_a_wrong_setting_is_one_error_naming_the_key_and_the_file(project, content, said):
    (project / "bnlint.toml").write_text(content)
    done = run(project / "train" / "finetune.py")
    assert done.returncode == 2 and said in done.stderr
    assert "bnlint.toml" in done.stderr and "Traceback" not in done.stderr


def test_exit_zero_and_fail_on(project):
    script = project / "train" / "finetune.py"
    assert run(script).returncode == 1
    assert run("--exit-zero", script).returncode == 0
    severities = {d["severity"] for d in bnlint.lint(str(script))["files"][0]["diagnostics"]}
    assert "error" in severities
    assert run("--fail-on", "error", script).returncode == 1
    (project / "bnlint.toml").write_text('ignore = ["BN012"]\n')  # the error-level finding
    assert {d["severity"] for d in bnlint.lint(str(script))["files"][0]["diagnostics"]} <= {"warning", "info"}
    assert run("--fail-on", "error", script).returncode == 0
    assert run("--fail-on", "warning", script).returncode == 1
    empty = project / "broken.keras"
    empty.write_bytes(b"")
    assert run("--exit-zero", empty).returncode == 2  # an unreadable file is not a finding


def test_statistics_counts_per_rule(project):
    done = run("--statistics", project)
    report = json.loads(run("--format", "json", project).stdout)
    counted = {}
    for d in (d for f in report["files"] for d in f["diagnostics"]):
        counted[d["code"]] = counted.get(d["code"], 0) + 1
    lines = [line.split() for line in done.stdout.splitlines() if line.strip()]
    assert {code: int(count) for count, code, _ in lines} == counted
    assert [int(count) for count, *_ in lines] == sorted(counted.values(), reverse=True)


def test_output_file_gets_the_document(project, tmp_path_factory):
    target = tmp_path_factory.mktemp("out") / "report.json"
    done = run("--format", "json", "--output-file", target, project)
    assert done.stdout == "" and json.loads(target.read_text())["files"]


def test_show_files_and_show_settings(project):
    (project / "pyproject.toml").write_text('[tool.bnlint]\nbatch-size = 8\nignore = ["BN002"]\n')
    files = run("--show-files", project).stdout.split()
    assert sorted(Path(f).name for f in files) == ["classifier.keras", "finetune.py"]
    shown = run("--show-settings", "--limit", "max-seconds=30", project / "train" / "finetune.py").stdout
    assert str(project / "pyproject.toml") in shown
    assert "batch-size: 8 (pyproject.toml)" in shown and "BN002" not in shown.split("rules:")[1].splitlines()[0]
    assert "max-seconds: 30 (--limit)" in shown and "max-layers: 100000 (default)" in shown


def test_parallel_run_is_the_serial_run(project, models):
    for index, name in enumerate(["BN012-0", "BN014-0", "BN002-0"]):
        shutil.copy(models.path(name, "keras2", "h5"), project / "models" / f"m{index}.h5")
    for index in range(6):
        shutil.copy(SCRIPT, project / "train" / f"s{index}.py")
    serial = run("--format", "json", "--jobs", "1", project)
    parallel = run("--format", "json", "--jobs", "2", project)
    assert serial.returncode == parallel.returncode == 1
    assert json.loads(serial.stdout) == json.loads(parallel.stdout)


DOOMED: list[str] = []  # the file whose worker the kernel "kills" (read in the forked workers)


def _killed_on_doomed(path, options):
    if path in DOOMED:
        os.kill(os.getpid(), signal.SIGKILL)
    return REAL_LINT_FILE(path, options)


def test_a_worker_killed_mid_run_costs_only_its_file(project, monkeypatch):
    """The out-of-memory killer ends a worker with SIGKILL: that file gets its error line, the
    other files are still linted, and the run ends (a plain process pool would wait forever)."""
    for index in range(4):
        shutil.copy(SCRIPT, project / "train" / f"s{index}.py")
    doomed = str(project / "train" / "s2.py")
    DOOMED.append(doomed)
    monkeypatch.setattr(linting, "lint_file", _killed_on_doomed)
    try:
        results = linting.lint_paths([str(project / "train")], Options(), jobs=2)
    finally:
        DOOMED.clear()
    by_path = {r.path: r for r in results}
    assert by_path[doomed].error == "the process linting the file was killed (SIGKILL: out of memory?)"
    others = [r for r in results if r.path.endswith(("s0.py", "s1.py", "s3.py"))]
    assert len(others) == 3 and all(r.error is None and r.diagnostics for r in others)


def test_colour_only_on_request_or_a_terminal(project):
    script = project / "train" / "finetune.py"
    piped = run(script)
    assert "\x1b[" not in piped.stdout  # piped: plain
    assert "\x1b[" in run("--color", "always", script).stdout
    assert "\x1b[" in run(script, env={"FORCE_COLOR": "1"}).stdout
    assert "\x1b[" not in run("--color", "never", script, env={"FORCE_COLOR": "1"}).stdout
    assert "\x1b[" not in run(script, env={"NO_COLOR": "1", "FORCE_COLOR": ""}).stdout
    assert piped.stdout == run(script).stdout  # stable
