"""Scripts that reach into the rest of their repository: local modules (followed, never
imported), JSON settings files (read as data), model files they load (read with bnlint's
own readers), and scripts that do not parse to the end."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from findings import said
from test_scripts import expected, findings

import bnlint

REPOS = Path(__file__).with_name("scripts") / "repos"
ENTRY_SCRIPTS = [
    "local_modules/scripts/train.py",
    "json_settings/train.py",
    "notebook_fragments/6_fine_tune.py",
    "fragment_functions/controller.py",
    "yaml_settings/train.py",
]


@pytest.mark.parametrize("script", ENTRY_SCRIPTS)
def test_entry_script_findings_are_where_expected(script):
    path = REPOS / script
    got = {(d["line"], d["code"]) for d in findings(path, keras_version="3")}
    assert got == expected(path, "keras3")


@pytest.mark.parametrize("generation", ["2", "3"])
def test_notebook_cut_into_files_is_linted_cell_by_cell(generation):
    """Each cell uses what earlier cells defined; a finding is on the cell that trains, once,
    and cells before it ran first (3_freeze.py freezes what 2_base.py built)."""
    for path in sorted((REPOS / "notebook_fragments").glob("*.py")):
        got = {(d["line"], d["code"]) for d in findings(path, keras_version=generation)}
        assert got == expected(path, f"keras{generation}"), path.name


def test_names_taken_from_other_cells_are_said():
    from bnlint.linting import Options, lint_paths

    [result] = lint_paths([str(REPOS / "notebook_fragments/5_train.py")], Options())
    assert "model from 4_model.py" in result.context and "x_train, y_train from 1_data.py" in result.context


def test_local_modules_are_followed_but_never_imported():
    import sys

    findings(REPOS / "local_modules/scripts/train.py")
    assert "project" not in sys.modules and "project.models" not in sys.modules


def test_json_settings_are_named_in_the_message():
    [bn014, _] = findings(REPOS / "json_settings/train.py", keras_version="3")
    assert "settings from" in said(bn014) and "train.json" in said(bn014)


def test_yaml_that_would_run_code_is_not_run(tmp_path):
    """A YAML file with a tag that builds Python objects: parsed with the safe loader, so the
    command never runs and the settings are said to be unknown."""
    marker = tmp_path / "ran"
    (tmp_path / "config.yaml").write_text(f'backbone: !!python/object/apply:os.system ["touch {marker}"]\n')
    script = tmp_path / "train.py"
    script.write_text(
        "import tensorflow as tf\nimport yaml\n"
        "config = yaml.unsafe_load(open('config.yaml'))\n"
        "base = getattr(tf.keras.applications, config['backbone'])(include_top=False)\n"
    )
    [result] = bnlint.lint(str(script))["files"]
    assert not marker.exists()
    assert any("could not be read as YAML" in note for note in result["notes"])


def test_settings_file_outside_the_repository_is_not_read(tmp_path):
    outside = tmp_path / "secret.json"
    outside.write_text('{"backbone": "ResNet50"}')
    script = tmp_path / "a" / "b" / "c" / "d" / "train.py"
    script.parent.mkdir(parents=True)
    script.write_text(
        "import json\nimport tensorflow as tf\n"
        f"config = json.load(open({str(outside)!r}))\n"
        "base = getattr(tf.keras.applications, config['backbone'])(include_top=False)\n"
    )
    [result] = bnlint.lint(str(script))["files"]
    assert any("outside the script's repository: not read" in note for note in result["notes"])


LOADED = """import keras

model = keras.models.load_model("pretrained.{fmt}")
for layer in model.layers[:100]:
    layer.trainable = False
model.compile("adam", "mse")
model.fit(x_train, y_train, batch_size=32, epochs=3)
"""


@pytest.mark.parametrize("fmt", ["keras", "h5"])
def test_a_loaded_model_file_is_read_to_learn_its_bn_layers(tmp_path, models, fmt):
    """MobileNetV2 saved by real Keras: 154 layers, 52 BN; freezing the first 100 layers
    leaves the 18 BN layers after them training."""
    shutil.copy(models.path("mobilenetv2", "keras3", fmt), tmp_path / f"pretrained.{fmt}")
    script = tmp_path / "finetune.py"
    script.write_text(LOADED.format(fmt=fmt))
    [finding] = findings(script)
    assert finding["code"] == "BN014" and finding["line"] == 5
    assert "18 of the 52 BN layers" in said(finding) and "momentum 0.999" in said(finding)


def test_a_loaded_model_with_a_nested_base(tmp_path, models):
    shutil.copy(models.path("flat-head", "keras3", "keras"), tmp_path / "pretrained.keras")
    script = tmp_path / "finetune.py"
    script.write_text(LOADED.format(fmt="keras").replace("[:100]", "[:1]"))
    assert [d["code"] for d in findings(script)] == ["BN014"]


def test_a_model_file_bnlint_cannot_know_is_a_note_not_a_guess(tmp_path):
    script = tmp_path / "finetune.py"
    script.write_text(
        "import os\nimport keras\nmodel = keras.models.load_model(os.environ['MODEL'])\n"
        "model.compile('adam', 'mse')\nmodel.fit(x, y, epochs=1)\n"
        "other = keras.models.load_model('missing.keras')\nother.compile('adam', 'mse')\nother.fit(x, y)\n"
    )
    [result] = bnlint.lint(str(script))["files"]
    assert result["diagnostics"] == []
    assert result["notes"] == [
        "line 3: load_model(...): the path is computed at run time, so its BN layers are unknown",
        "line 6: load_model('missing.keras'): the file is not in the repository, so its BN layers are unknown",
    ]


def test_a_script_with_syntax_errors_is_linted_around_them(tmp_path):
    """A notebook exported to .py keeps IPython lines; an edit left a comma out: exit 2 for
    the first error, the statements that do not parse are skipped, the rest is linted."""
    script = tmp_path / "export.py"
    script.write_text(
        "import keras\nls data/\ngen = keras.preprocessing.image.ImageDataGenerator(\n"
        "    rescale=1 / 255\n    horizontal_flip=True)\n"
        "base = keras.applications.ResNet50(include_top=False)\nbase.compile('adam', 'mse')\nbase.fit(x, y, epochs=1)\n"
    )
    [result] = bnlint.lint(str(script))["files"]
    assert result["error"] == ("syntax error at line 2: invalid syntax; lines 2, 3-5 skipped, the rest linted")
    assert [(d["code"], d["line"]) for d in result["diagnostics"]] == [("BN014", 6)]


def test_a_loop_of_missing_settings_files_is_a_few_notes_and_a_count(tmp_path):
    script = tmp_path / "sweep.py"
    script.write_text(
        "import json\nimport tensorflow as tf\n"
        "for data in ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j']:\n"
        "    for run in ['1', '2', '3', '4', '5']:\n"
        "        config = json.load(open(f'runs/{data}{run}/config.json'))\n"
    )
    [result] = bnlint.lint(str(script))["files"]
    assert len(result["notes"]) == 4
    assert "runs/a1/config.json was not found" in result["notes"][0]
    assert result["notes"][-1].endswith("and 47 more notes like these from this line")


def test_a_script_layer_with_settings_bnlint_cannot_work_out_is_not_a_malformed_model(tmp_path):
    """The structure rules build a model config from the script; an axis computed by code
    bnlint does not follow is unknown there, not an invalid model (that check is for files)."""
    script = tmp_path / "train.py"
    script.write_text(
        "from keras import layers, models\n"
        "model = models.Sequential([layers.Input((8, 8, 3)), layers.Conv2D(4, 3),\n"
        "    layers.BatchNormalization(axis=channel_axis()), layers.Flatten(), layers.Dense(2)])\n"
        "model.compile('adam', 'mse')\n"
        "model.fit(x, y, batch_size=32)\n"
    )
    [result] = bnlint.lint(str(script))["files"]
    assert result["error"] is None
