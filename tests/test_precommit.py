"""The hooks of .pre-commit-hooks.yaml, run by real pre-commit in a git repository that
holds a bad training script and a bad model: `bnlint` fails and names the findings;
`bnlint-fix` rewrites the models and the script, fails because it changed files, and
passes on the fixed files.

pre-commit installs bnlint into its own virtualenv with the default dependencies (the
light install hook users get, no TensorFlow) from a snapshot of this checkout: the
package's files as they are on disk, uncommitted and untracked ones too, committed in a
git repository of their own: `pre-commit try-repo` on this checkout itself would leave
untracked files out of its shadow commit. try-repo builds bnlint's environment anew on
every call (~12 s each).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import CACHE

ROOT = Path(__file__).resolve().parent.parent
# What pip reads to build bnlint's wheel, and the hook manifest: a change to any of them
# (and only to them) makes a new snapshot, and pre-commit a new environment.
SNAPSHOT_PATHS = (".pre-commit-hooks.yaml", "pyproject.toml", "README.md", "bnlint")
STORE = CACHE / "pre-commit"


def _pre_commit() -> str | None:
    beside = Path(sys.executable).with_name("pre-commit")  # the test venv's, even when not on PATH
    return str(beside) if beside.exists() else shutil.which("pre-commit")


PRE_COMMIT = _pre_commit()
pytestmark = pytest.mark.skipif(
    PRE_COMMIT is None, reason="the pre-commit executable is missing (pip install pre-commit)"
)


def _env(**extra: str) -> dict[str, str]:
    """Without the variables of a calling git hook (GIT_DIR, GIT_INDEX_FILE, ...), which would
    point git at another repository, nor a PYTHONPATH that could import this checkout's bnlint
    in place of the one pre-commit installed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") and k not in ("PYTHONPATH", "PYTHONHOME")}
    return env | extra


def _git(cwd: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=bnlint tests", "-c", "user.email=tests@bnlint.invalid"]
    command += ["-c", "commit.gpgsign=false", *args]
    return subprocess.run(command, cwd=cwd, env=_env(), capture_output=True, text=True, check=True).stdout


def _snapshot() -> tuple[Path, str]:
    """A git repository with the package's files as they are on disk, committed, under a
    name made from their content; built once, and reused while they stay unchanged."""
    listed = _git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *SNAPSHOT_PATHS)
    names = sorted({name for name in listed.split("\0") if name and (ROOT / name).is_file()})
    digest = hashlib.sha256()
    for name in names:
        executable = os.access(ROOT / name, os.X_OK)
        digest.update(f"{name}\0{executable}\0".encode() + hashlib.sha256((ROOT / name).read_bytes()).digest())
    key = digest.hexdigest()[:12]
    folder = STORE / key
    _prune(keep=key)
    if not folder.is_dir():
        scratch = STORE / f".{key}-{os.getpid()}"
        shutil.rmtree(scratch, ignore_errors=True)
        for name in names:
            (scratch / "checkout" / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, scratch / "checkout" / name)
        _git(scratch / "checkout", "init", "-q")
        _git(scratch / "checkout", "add", "-A")
        _git(scratch / "checkout", "commit", "-q", "--no-verify", "-m", f"bnlint snapshot {key}")
        try:
            scratch.rename(folder)
        except OSError:  # a concurrent run made the same snapshot first
            shutil.rmtree(scratch, ignore_errors=True)
    os.utime(folder)  # in use: not pruned by a run of another snapshot
    return folder, _git(folder / "checkout", "rev-parse", "HEAD").strip()


def _prune(keep: str, min_age_s: float = 3600) -> None:
    """Drop the snapshots (and their pre-commit environments) of older package files; only
    old ones, so that a concurrent run on other files keeps its own."""
    if not STORE.is_dir():
        return
    for entry in STORE.iterdir():
        if entry.name != keep and time.time() - entry.stat().st_mtime > min_age_s:
            shutil.rmtree(entry, ignore_errors=True)


def _run(repo: Path, snapshot: Path, rev: str, hook: str, *args: str) -> subprocess.CompletedProcess:
    """The real `pre-commit try-repo` against the snapshot of this checkout (it builds bnlint's
    environment in a store of its own every time: ~12 s)."""
    return subprocess.run(
        [PRE_COMMIT, "try-repo", str(snapshot), hook, "--ref", rev, "--color", "never", *args],
        cwd=repo,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=900,  # a cold environment: bnlint's dependencies come from PyPI
    )


def test_hooks_lint_then_fix_a_git_repository(tmp_path, models):
    snapshot, rev = _snapshot()
    checkout = snapshot / "checkout"
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.name", "bnlint tests")
    _git(repo, "config", "user.email", "tests@bnlint.invalid")
    script = repo / "train" / "finetune_xception.py"
    h5 = repo / "models" / "classifier.h5"
    keras = repo / "models" / "encoder.keras"
    weights = repo / "models" / "encoder.weights.h5"  # no architecture: the hooks leave it out
    sources = {
        script: ROOT / "examples" / "scripts" / "finetune_xception.py",
        # BN001 alone, in both: its safe fix (training=False on the base's call) fixes them completely.
        h5: models.path("BN001-0", "keras2", "h5"),
        keras: models.path("BN001-0", "keras3", "keras"),
        weights: models.path("weights-only", "keras3", "weights"),
    }
    for target, source in sources.items():
        target.parent.mkdir(exist_ok=True)
        shutil.copy(source, target)
    _git(repo, "add", ".")
    before = {path: path.read_bytes() for path in sources}

    lint = _run(repo, checkout, rev, "bnlint", "--all-files")
    assert lint.returncode == 1, lint.stdout
    assert re.search(r"^bnlint\.+Failed$", lint.stdout, re.M), lint.stdout
    assert "models/classifier.h5:model/base: BN001 " in lint.stdout, lint.stdout
    assert "models/encoder.keras:functional/base: BN001 " in lint.stdout, lint.stdout
    assert re.search(r"^train/finetune_xception\.py:\d+:\d+: BN012 ", lint.stdout, re.M), lint.stdout
    assert "encoder.weights.h5" not in lint.stdout, lint.stdout
    assert {path: path.read_bytes() for path in sources} == before, "the lint hook wrote a file"

    # bnlint exits 0 (everything fixed): pre-commit fails the hook because it changed the file.
    fix_one = _run(repo, checkout, rev, "bnlint-fix", "--files", "models/encoder.keras")
    assert fix_one.returncode == 1, fix_one.stdout
    assert re.search(r"^bnlint --fix\.+Failed$", fix_one.stdout, re.M), fix_one.stdout
    assert "- files were modified by this hook" in fix_one.stdout, fix_one.stdout
    assert "- exit code:" not in fix_one.stdout, fix_one.stdout
    assert keras.read_bytes() != before[keras]

    # The h5 model and the script are rewritten: nothing is left (exit 0), files changed.
    fix_all = _run(repo, checkout, rev, "bnlint-fix", "--all-files")
    assert fix_all.returncode == 1, fix_all.stdout
    assert re.search(r"^bnlint --fix\.+Failed$", fix_all.stdout, re.M), fix_all.stdout
    assert "- exit code:" not in fix_all.stdout, fix_all.stdout
    assert "- files were modified by this hook" in fix_all.stdout, fix_all.stdout
    assert "models/classifier.h5: fixed, written to models/classifier.h5 (BN001)" in fix_all.stdout, fix_all.stdout
    assert "train/finetune_xception.py: fixed, written to train/finetune_xception.py (BN012)" in fix_all.stdout
    assert h5.read_bytes() != before[h5]
    assert b"isinstance(layer, layers.BatchNormalization)" in script.read_bytes()
    assert weights.read_bytes() == before[weights]
    fixed = {path: path.read_bytes() for path in (h5, keras, script)}

    # A second run passes and changes nothing.
    again = _run(repo, checkout, rev, "bnlint-fix", "--all-files")
    assert again.returncode == 0, again.stdout
    assert re.search(r"^bnlint --fix\.+Passed$", again.stdout, re.M), again.stdout
    assert {path: path.read_bytes() for path in fixed} == fixed, "a second --fix must leave a fixed model as it is"
