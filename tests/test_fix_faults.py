"""--fix when things go wrong: read-only targets, writes that fail, a model that changes
while it is fixed, inputs that cannot be rewritten, and a process killed at random
moments. Always: one clear error, exit status 2, the original untouched, and never a
partial file under the final name."""

from __future__ import annotations

import errno
import os
import random
import resource
import shutil
import signal
import stat
import subprocess
import sys
import time

import pytest
from test_bad_input import BAD

import bnlint
from bnlint.verify import run_jobs
from bnlint.writers import atomic, copying
from bnlint.writers.keras_zip import KerasZipFile

from fix_helpers import cli, copy_model, digest, leftovers

FORMATS = [("keras3", "keras"), ("keras3", "h5"), ("keras2", "savedmodel")]
RECIPE = "fix-BN014-0"  # BN014 freezes two BN layers: a safe fix in every format


@pytest.fixture
def restore_permissions():
    changed = []
    yield changed
    for path, mode in changed:
        os.chmod(path, mode)


@pytest.mark.parametrize("generation, fmt", FORMATS)
def test_read_only_model(models, tmp_path, restore_permissions, generation, fmt):
    path = copy_model(models, RECIPE, generation, fmt, tmp_path)
    before = digest(path)
    restore_permissions.append((path, path.stat().st_mode))
    os.chmod(path, stat.S_IRUSR | stat.S_IXUSR if path.is_dir() else stat.S_IRUSR)
    done = cli("--fix", path)
    assert done.returncode == 2
    assert f"{path}: error:" in done.stderr and "read-only" in done.stderr
    assert digest(path) == before and leftovers(tmp_path) == []


@pytest.mark.parametrize("generation, fmt", FORMATS)
def test_read_only_directory(models, tmp_path, restore_permissions, generation, fmt):
    path = copy_model(models, RECIPE, generation, fmt, tmp_path / "ro")
    before = digest(path)
    restore_permissions.append((path.parent, path.parent.stat().st_mode))
    os.chmod(path.parent, stat.S_IRUSR | stat.S_IXUSR)
    done = cli("--fix", path)
    assert done.returncode == 2 and "read-only directory" in done.stderr
    assert digest(path) == before


def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


STEPS = {  # each step of a write, broken the way a full disk breaks it
    "fsync": [(os, "fsync")],
    "copy": [
        (os, "copy_file_range"),
        (copying, "_buffered_copy"),  # unaligned ranges are copied through a buffer, not the kernel
        (shutil, "copyfileobj"),
        (shutil, "copyfile"),
        (shutil, "copy2"),
    ],
    "swap": [(os, "replace"), (os, "rename"), (atomic, "_exchange")],  # files: replace; SavedModel: exchange
}


@pytest.mark.parametrize("step", sorted(STEPS))
@pytest.mark.parametrize("generation, fmt", FORMATS)
def test_failing_write_leaves_the_original(models, tmp_path, monkeypatch, generation, fmt, step):
    """A disk that fills up at any step of the write: the original stays, nothing is left."""
    path = copy_model(models, RECIPE, generation, fmt, tmp_path)
    before = digest(path)
    for owner, name in STEPS[step]:
        monkeypatch.setattr(owner, name, _no_space)
    [report] = bnlint.fix(str(path))["files"]
    monkeypatch.undo()
    assert "No space left on device" in report["error"] and "original is untouched" in report["error"]
    assert digest(path) == before and leftovers(tmp_path) == []


def _limit_file_size(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() then fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.mark.parametrize("generation, fmt", [("keras3", "keras"), ("keras3", "h5")])
def test_real_write_failure_in_a_subprocess(models, tmp_path, generation, fmt):
    """Not simulated: the kernel refuses to let the file grow past half the model's size."""
    path = copy_model(models, RECIPE, generation, fmt, tmp_path)
    before = digest(path)
    command = [sys.executable, "-m", "bnlint", "--fix", str(path)]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=120, preexec_fn=_limit_file_size(path.stat().st_size // 2)
    )
    assert done.returncode == 2, done.stderr
    assert "File too large" in done.stderr and "original is untouched" in done.stderr
    assert digest(path) == before and leftovers(tmp_path) == []


def test_model_changed_while_being_fixed(models, tmp_path, monkeypatch):
    path = copy_model(models, RECIPE, "keras3", "keras", tmp_path)
    write = KerasZipFile.write

    def meddle(self, temp, weight_edits):
        with open(path, "ab") as handle:  # someone else writes the model meanwhile
            handle.write(b"\0")
        write(self, temp, weight_edits)

    monkeypatch.setattr(KerasZipFile, "write", meddle)
    changed = path.read_bytes() + b"\0"
    [report] = bnlint.fix(str(path))["files"]
    assert "changed while it was being fixed" in report["error"]
    assert path.read_bytes() == changed and leftovers(tmp_path) == []


@pytest.mark.parametrize("case", sorted(BAD))
def test_inputs_that_cannot_be_rewritten(tmp_path, models, case):
    make, reason = BAD[case]
    bad = make(tmp_path, models)
    before = digest(bad) if bad.exists() else None
    done = cli("--fix", bad)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"{bad}: error:") and reason in line
    assert (digest(bad) if bad.exists() else None) == before


def test_script_fixes_are_reported_not_applied(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(
        "import keras\n"
        "base = keras.applications.ResNet50(weights='imagenet', include_top=False)\n"
        "base.trainable = False\n"
        "model = keras.Sequential([base, keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2)])\n"
        "model.compile('adam', 'mse')\n"
        "model.fit(x, y, batch_size=32, epochs=3)\n"
    )
    before = script.read_text()
    [report] = bnlint.fix(str(script))["files"]
    assert report["error"] is None and report["output"] is None
    assert script.read_text() == before


def test_killed_at_random_moments(models, tmp_path):
    """SIGKILL during fixes of a 94 MB model: the final name always holds the complete
    original or the complete fixed model; a later run sweeps the killed runs' scratch."""
    rng = random.Random(20)
    mid_write = 0
    for fmt in ("keras", "h5"):
        source = models.path("fix-big", "keras3", fmt)
        reference = copy_model(models, "fix-big", "keras3", fmt, tmp_path / f"ref-{fmt}")
        start = time.perf_counter()
        assert cli("--fix", "--select", "BN014", reference).returncode == 0
        duration = time.perf_counter() - start
        allowed = {digest(source), digest(reference)}
        path = copy_model(models, "fix-big", "keras3", fmt, tmp_path / f"work-{fmt}")
        for _ in range(12):
            process = subprocess.Popen(
                [sys.executable, "-m", "bnlint", "--fix", "--select", "BN014", str(path)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(rng.uniform(0.3, 1.1) * duration)
            process.kill()
            process.wait()
            assert digest(path) in allowed, "partial output under the final name"
            mid_write += bool(leftovers(path.parent))  # killed while writing its scratch file
            if digest(path) != digest(source):
                shutil.copyfile(source, path)  # start the next round from the original again
        assert cli("--fix", "--select", "BN014", path).returncode == 0
        assert leftovers(path.parent) == [], "a later run removes what killed runs left"
        assert digest(path) == digest(reference)
    assert mid_write, "no kill landed during a write: the test did not test the window"
    [original, fixed] = run_jobs(
        "keras3",
        [
            {"original": str(models.path("fix-big", "keras3", "h5")), "fixed": str(source), "checks": []},
            {"original": str(source), "fixed": str(reference), "checks": []},
        ],
    )
    assert original["error"] is None and fixed["error"] is None and fixed["max_abs_diff"] == 0.0


def test_directory_swap_without_renameat2(models, tmp_path, monkeypatch):
    """Where the atomic exchange is unavailable, two renames do it; nothing is left over."""
    path = copy_model(models, RECIPE, "keras2", "savedmodel", tmp_path)
    monkeypatch.setattr(atomic, "_exchange", lambda first, second: False)
    [report] = bnlint.fix(str(path))["files"]
    assert report["error"] is None and report["diagnostics"] == [] and report["output"] == str(path)
    assert leftovers(tmp_path) == []
