"""Notebooks, suppression comments and unreadable sources: the parts of script linting
around the rules."""

from __future__ import annotations

import json
import subprocess
import sys

import bnlint
from bnlint.scripts.notebook import mask

FINE_TUNE = [
    "base = keras.applications.ResNet50(include_top=False, input_shape=(224, 224, 3))\n",
    "x = layers.GlobalAveragePooling2D()(base.output)\n",
    "model = keras.Model(base.input, layers.Dense(3)(x))\n",
]
TRAIN = ["model.compile('adam', 'sparse_categorical_crossentropy')\n", "model.fit(train_ds, epochs=3)\n"]


def notebook(path, *cells):
    document = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [
            {"cell_type": kind, "metadata": {}, "source": source, **({"outputs": []} if kind == "code" else {})}
            for kind, source in cells
        ],
    }
    path.write_text(json.dumps(document))
    return path


def lint(path, **options):
    [result] = bnlint.lint(str(path), **options)["files"]
    return result


def test_notebook_findings_point_to_cell_and_line(tmp_path):
    path = notebook(
        tmp_path / "finetune.ipynb",
        ("markdown", "# Fine-tuning ResNet50\nThe whole network is trained."),
        ("code", ["%pip install -q tensorflow\n", "!nvidia-smi\n", "import keras\n", "from keras import layers\n"]),
        ("code", ["%%time\n", "files = !ls data\n", *FINE_TUNE]),
        ("markdown", "Train it."),
        ("code", ["BATCH = 8\n", "train_ds = keras.utils.image_dataset_from_directory('data', batch_size=BATCH)\n"]),
        ("code", TRAIN),
    )
    result = lint(path, keras_version="3")
    assert result["error"] is None and result["kind"] == "notebook"
    got = [(d["code"], d["cell"], d["line"]) for d in result["diagnostics"]]
    # BN014 at the base's creation (cell 3, line 3); BN003 at fit() (cell 6, line 2).
    assert got == [("BN014", 3, 3), ("BN003", 6, 2)]


def test_cli_prints_cell_locations_and_exits_1(tmp_path):
    path = notebook(
        tmp_path / "nb.ipynb", ("code", ["import keras\n", "from keras import layers\n", *FINE_TUNE, *TRAIN])
    )
    done = subprocess.run(
        [sys.executable, "-m", "bnlint", str(path), "--keras-version", "3"], capture_output=True, text=True
    )
    assert done.returncode == 1
    assert f"{path}:cell 1:3:8: BN014" in done.stdout


def test_magics_are_masked_without_moving_lines():
    lines = ["%matplotlib inline", "x = 1", "!pip install keras \\", "    tensorflow", "  %time y = 2", "z = x?"]
    assert mask(lines) == ["pass", "x = 1", "pass", "", "  pass", "z = x?"]
    assert mask(["%%bash", "ls -l", "echo done"]) == ["pass", "", ""]
    assert mask(["%env TF_USE_LEGACY_KERAS=1"]) == ["os.environ['TF_USE_LEGACY_KERAS'] = '1'"]


def test_notebook_env_magic_selects_tf_keras(tmp_path):
    path = notebook(
        tmp_path / "nb.ipynb",
        ("code", ["%env TF_USE_LEGACY_KERAS=1\n", "import tensorflow as tf\n", "keras = tf.keras\n"]),
        (
            "code",
            [
                "base = tf.keras.applications.MobileNetV2(include_top=False, input_shape=(96, 96, 3))\n",
                "base.trainable = False\n",
                "inputs = tf.keras.Input((96, 96, 3))\n",
                "x = base(inputs, training=False)\n",
                "model = tf.keras.Model(inputs, tf.keras.layers.Dense(2)(x))\n",
                "model.compile('adam', 'mse')\n",
                "model.fit(train_ds, epochs=2)\n",
                "base.trainable = True\n",
                "model.compile('adam', 'mse')\n",
                "model.fit(train_ds, epochs=2)\n",
            ],
        ),
    )
    result = lint(path)
    assert result["diagnostics"] == []  # tf_keras honours training=False
    assert result["keras_version"] is not None and result["keras_version"].startswith("2.")


SCRIPT = """import keras
from keras import layers
base = keras.applications.ResNet50(include_top=False, input_shape=(224, 224, 3))
x = layers.GlobalAveragePooling2D()(base.output)
model = keras.Model(base.input, layers.Dense(3)(x))
model.compile('adam', 'mse')
model.fit(train_ds, epochs=3)
"""


def test_suppressions(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(SCRIPT)
    assert [d["code"] for d in lint(path)["diagnostics"]] == ["BN014"]  # at line 3 (no batch for train_ds)

    path.write_text(SCRIPT.replace("(224, 224, 3))\n", "(224, 224, 3))  # noqa: BN014\n", 1))
    assert lint(path)["diagnostics"] == []
    path.write_text(SCRIPT.replace("(224, 224, 3))\n", "(224, 224, 3))  # bnlint: ignore[BN0]\n", 1))
    assert lint(path)["diagnostics"] == []
    path.write_text(SCRIPT.replace("(224, 224, 3))\n", "(224, 224, 3))  # noqa: BN003\n", 1))
    assert [d["code"] for d in lint(path)["diagnostics"]] == ["BN014"]  # another code is not silenced
    path.write_text(SCRIPT.replace("(224, 224, 3))\n", "(224, 224, 3))  # noqa\n", 1))
    assert [d["code"] for d in lint(path)["diagnostics"]] == ["BN014"]  # a bare noqa is flake8's
    path.write_text("# bnlint: ignore-file[BN014]\n" + SCRIPT)
    assert lint(path)["diagnostics"] == []


def test_syntax_error_is_one_clean_error(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("import keras\nmodel = keras.Sequential([\n")
    result = lint(path)
    assert result["error"].startswith("syntax error at line ")
    assert result["diagnostics"] == []


def test_binary_file_named_py_and_bad_notebook(tmp_path):
    binary = tmp_path / "weights.py"
    binary.write_bytes(b"\x89HDF\r\n\x1a\n\x00\x00\x00\x01" * 10)
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json")
    good = tmp_path / "good.py"
    good.write_text(SCRIPT)
    done = subprocess.run(
        [sys.executable, "-m", "bnlint", str(binary), str(bad), str(good)], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert f"{binary}: error: binary file, not Python source" in done.stderr
    assert f"{bad}: error: not a Jupyter notebook" in done.stderr
    assert "Traceback" not in done.stderr
    assert f"{good}:3:8: BN014" in done.stdout  # the other files are still linted


def test_notebook_cell_with_a_syntax_error_is_named_and_the_others_are_linted(tmp_path):
    path = notebook(
        tmp_path / "nb.ipynb",
        ("code", "import keras\nbase = keras.applications.ResNet50(include_top=False)\n"),
        ("code", "x = (\n"),
        ("code", "base.trainable = True\nbase.compile('adam', 'mse')\nbase.fit(x, epochs=1)\n"),
    )
    result = lint(path)
    assert result["error"] is None
    assert result["notes"] == ["cell 2 does not parse (line 1: '(' was never closed); it was not linted"]
    assert [d["code"] for d in result["diagnostics"]] == ["BN014"]
    assert result["diagnostics"][0]["cell"] == 3


def test_notebook_ipython_automagics_are_masked(tmp_path):
    path = notebook(
        tmp_path / "nb.ipynb",
        ("code", "pip install tensorflow\nls\ncd data\n%matplotlib inline\nimport keras\n"),
        ("code", "conda install -y pillow\nmkdir -p out/models\nfiles = !ls data\nrm -rf out/tmp\n"),
        (
            "code",
            "  base = keras.applications.ResNet50(include_top=False)\n  history = base.fit(\n      x, epochs=1)\n",
        ),
    )
    result = lint(path)
    assert result["error"] is None and "notes" not in result
    assert [d["code"] for d in result["diagnostics"]] == ["BN014"]


def test_notebook_time_magic_keeps_its_statement(tmp_path):
    path = notebook(
        tmp_path / "nb.ipynb",
        ("code", "import keras\nbase = keras.applications.ResNet50(include_top=False)\n"),
        ("code", "%time base.fit(x, epochs=1)\n"),
    )
    assert [d["code"] for d in lint(path)["diagnostics"]] == ["BN014"]
