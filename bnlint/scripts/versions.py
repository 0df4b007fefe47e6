"""Which Keras generation a script runs on, without importing anything.

`import keras` is whatever keras is installed (3.x today); `import tf_keras` is Keras 2;
`tf.keras` is Keras 3 on TensorFlow >= 2.16 unless TF_USE_LEGACY_KERAS=1 (set in the
environment, or by the script itself before TensorFlow is imported), Keras 2 on TF
2.0-2.15 and legacy Keras on TF 1.x. Installed versions are read with
importlib.metadata; `--keras-version` / `keras-version` in [tool.bnlint] override all.
"""

from __future__ import annotations

import os
import re
from functools import cache
from importlib import metadata

from ..graph import Generation, generation_of

TF_DISTRIBUTIONS = ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tensorflow-intel", "tf-nightly")


@cache
def installed(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def installed_tensorflow() -> str | None:
    return next((v for v in map(installed, TF_DISTRIBUTIONS) if v), None)


def _major_minor(version: str) -> tuple[int, int]:
    match = re.match(r"(\d+)\.(\d+)", version)
    return (int(match[1]), int(match[2])) if match else (0, 0)


def resolve(flavours: set[str], legacy_env: bool, override: str | None) -> tuple[Generation, str | None, str]:
    """(generation, keras version if known, how it was decided) for a script whose
    Keras imports come in `flavours` ("keras", "tf_keras", "tf.keras")."""
    if override:
        full = override if "." in override else {"1": "1.2", "2": "2.15", "3": "3.0"}.get(override, override)
        return generation_of(full), override, f"Keras {override} (keras-version setting)"
    if "tf_keras" in flavours:
        version = installed("tf-keras") or installed("tf_keras")
        return Generation.KERAS2, version, "tf_keras (Keras 2)"
    if "tf.keras" in flavours:
        tf_version = installed_tensorflow()
        if tf_version is None:
            return Generation.KERAS3, None, "tf.keras, assumed Keras 3 (TensorFlow >= 2.16; none installed here)"
        major, minor = _major_minor(tf_version)
        if major < 2:
            return Generation.LEGACY, f"tf {tf_version}", f"tf.keras on TensorFlow {tf_version} (legacy Keras)"
        if minor < 16:
            return Generation.KERAS2, f"tf {tf_version}", f"tf.keras on TensorFlow {tf_version} (Keras 2)"
        if legacy_env or os.environ.get("TF_USE_LEGACY_KERAS") == "1":
            where = "the script" if legacy_env else "the environment"
            return (
                Generation.KERAS2,
                installed("tf-keras"),
                f"tf.keras with TF_USE_LEGACY_KERAS=1 set by {where} (tf_keras, Keras 2)",
            )
        version = installed("keras")
        return Generation.KERAS3, version, f"tf.keras on TensorFlow {tf_version} (Keras {version or '3'})"
    version = installed("keras")
    if version is None:
        return Generation.KERAS3, None, "keras, assumed Keras 3 (not installed here)"
    return generation_of(version), version, f"keras {version}"
