"""The wheel users install holds everything bnlint reads at run time (an editable
install used by the other tests would hide a missing data file)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contains_package_data(tmp_path):
    # Build from the tracked files alone: a dev tree's stale *.egg-info would mask a gap.
    source = tmp_path / "src"
    tracked = subprocess.run(
        ["git", "ls-files", "bnlint", "pyproject.toml", "README.md"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in tracked:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("bnlint-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    package_files = {name for name in tracked if name.startswith("bnlint/")}
    assert package_files <= names, f"missing from the wheel: {sorted(package_files - names)}"
