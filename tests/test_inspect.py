"""`bnlint inspect`: the BN inventory of real keras.applications models equals Keras's
own view, shows the unusual momenta at a glance, and reads the statistics."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import bnlint
from bnlint.inventory import inventory
from bnlint.readers import read_model

from recipes import APPLICATIONS

FAMILIES = sorted([*APPLICATIONS, "convnexttiny", "xception"])
DESIGN_FILE_KEYS = {"path", "keras_version", "bn_layers"}
DESIGN_ROW_KEYS = {"path", "class_name", "momentum", "epsilon", "axis", "trainable", "renorm", "trains"}


def inspect(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bnlint", "inspect", *map(str, args)], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("fmt", ["keras", "h5"])
@pytest.mark.parametrize("generation", ["keras3", "keras2"])
@pytest.mark.parametrize("name", FAMILIES)
def test_inventory_matches_keras(models, name, generation, fmt):
    truth = models.truth(name, generation)["bn_layers"]
    with read_model(str(models.path(name, generation, fmt)), fmt) as graph:
        report = inventory(graph)
        variables = [len(graph.bn_weights(bn)) for bn in graph.bn_layers()]
    rows = report["bn_layers"]
    assert [r["path"] for r in rows] == [t["path"] for t in truth]
    assert [r["momentum"] for r in rows] == pytest.approx([t["momentum"] for t in truth])
    assert [r["epsilon"] for r in rows] == pytest.approx([t["epsilon"] for t in truth])
    assert [r["trainable"] for r in rows] == [t["trainable"] for t in truth]
    assert [r["trains"] for r in rows] == [t["effective_trainable"] for t in truth]  # no training=False anywhere
    assert variables == [t["variables"] for t in truth]  # InceptionV3: 3 (scale=False)
    assert [r["time_constant"] for r in rows] == pytest.approx([1 / (1 - t["momentum"]) for t in truth])
    # weights=None: Keras initialized every moving mean to 0 and variance to 1
    assert {(tuple(r["statistics"]["moving_mean"]), tuple(r["statistics"]["moving_variance"])) for r in rows} <= {
        ((0.0, 0.0), (1.0, 1.0))
    }
    assert "notes" not in report


@pytest.mark.parametrize(
    "name, count, summary",
    [
        ("mobilenetv2", 52, "52 with momentum 0.999 (time constant 1,000 steps)"),
        ("nasnetmobile", 192, "192 with momentum 0.9997 (time constant 3,333 steps)"),
        ("resnet50", 53, "53 with momentum 0.99 (time constant 100 steps)"),
        ("xception", 40, "40 with momentum 0.99 (time constant 100 steps)"),
    ],
)
def test_unusual_momenta_at_a_glance(models, name, count, summary):
    process = inspect(models.path(name, "keras3", "keras"))
    assert process.returncode == 0, process.stderr
    assert f"{count} BN layers" in process.stdout.splitlines()[0]
    assert f"Momenta: {summary}." in process.stdout


def test_scale_false_is_visible(models):
    """InceptionV3's BN layers have beta only."""
    process = inspect(models.path("inceptionv3", "keras2", "h5"))
    row = next(line for line in process.stdout.splitlines() if "inception_v3/batch_normalization " in line)
    assert " β " in row and "γ" not in row


@pytest.mark.parametrize("generation", ["keras3", "keras2"])
def test_convnext_has_no_bn(models, generation):
    path = models.path("convnexttiny", generation, "keras")
    process = inspect(path)
    assert process.returncode == 0
    assert "0 BN layers" in process.stdout and "No BatchNormalization layers." in process.stdout
    assert json.loads(inspect(path, "--format", "json").stdout)["bn_layers"] == []
    [result] = bnlint.lint(str(path))["files"]
    assert result["error"] is None and result["diagnostics"] == []


@pytest.mark.parametrize(
    "generation, fmt", [("keras3", "keras"), ("keras3", "h5"), ("keras2", "keras"), ("keras2", "savedmodel")]
)
def test_json_shape_and_statistics(models, generation, fmt):
    """i3-known set each BN variable to arange(channels) + seed + 10 * position."""
    process = inspect(models.path("i3-known", generation, fmt), "--format", "json")
    assert process.returncode == 0, process.stderr
    report = json.loads(process.stdout)
    assert DESIGN_FILE_KEYS <= set(report)
    rows = {row["path"].split("/", 1)[1]: row for row in report["bn_layers"]}
    assert all(DESIGN_ROW_KEYS <= set(row) for row in rows.values())
    bn1, top = rows["base/bn1"], rows["top_bn"]
    assert bn1["statistics"] == {"channels": 4, "moving_mean": [20.25, 23.25], "moving_variance": [30.25, 33.25]}
    assert top["statistics"] == {"channels": 6, "moving_mean": [10.75, 15.75], "moving_variance": [20.75, 25.75]}
    assert (top["scale"], top["center"]) == (False, True)
    assert bn1["axis"] in (-1, 3)  # Keras 3 writes -1, tf_keras [3]


@pytest.mark.parametrize("generation", ["keras3", "keras2"])
def test_trains_follows_the_generation(models, generation):
    """BN012's first example: an unfrozen base called with training=False. Keras 2 honours
    it, Keras 3's fit() does not (keras#20285)."""
    report = json.loads(inspect(models.path("BN012-0", generation, "keras"), "--format", "json").stdout)
    assert {row["trains"] for row in report["bn_layers"]} == {generation == "keras3"}


def test_unreadable_weights_are_a_note(models, tmp_path):
    import zipfile

    target = tmp_path / "noweights.keras"
    with zipfile.ZipFile(models.path("i3-known", "keras3", "keras")) as source, zipfile.ZipFile(target, "w") as out:
        for info in source.infolist():
            if info.filename != "model.weights.h5":
                out.writestr(info, source.read(info))
    process = inspect(target)
    assert process.returncode == 0
    assert "not read" in process.stdout
    assert "note: BN weights not read, weight checks skipped: the archive has no model.weights.h5" in process.stdout
    report = json.loads(inspect(target, "--format", "json").stdout)
    assert {row["statistics"] for row in report["bn_layers"]} == {None}
    assert report["notes"]


@pytest.mark.parametrize("output", ["text", "json"])
def test_bad_input_is_one_line(tmp_path, output):
    missing = tmp_path / "missing.keras"
    script = tmp_path / "train.py"
    script.write_text("print('hi')\n")
    for path, reason in ((missing, "no such file or directory"), (script, "not scripts")):
        process = inspect(path, "--format", output)
        assert process.returncode == 2
        assert process.stderr.strip().count("\n") == 0 and "Traceback" not in process.stderr
        assert process.stderr.startswith(f"{path}: error: ") and reason in process.stderr
        if output == "json":
            assert json.loads(process.stdout)["error"]
