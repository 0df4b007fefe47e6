"""The wheel users install holds everything bnlint reads at run time (an editable
install used by the other tests would hide a missing data file)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contains_package_data(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("bnlint-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    package_files = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "bnlint").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert package_files <= names, f"missing from the wheel: {sorted(package_files - names)}"
