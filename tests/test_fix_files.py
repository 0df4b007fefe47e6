"""--fix at the file level, without running Keras: the writers keep every byte they do
not mean to change, bnlint's legacy .h5 weight order is the one Keras wrote, and the
command line options (--diff, -o, --backup, --unsafe-fixes, --format json) do what
they say."""

from __future__ import annotations

import errno
import json
import os
import zipfile

import h5py
import legacy_files as legacy
import pytest

import bnlint
from bnlint.errors import InputError
from bnlint.readers.h5_common import chunked_attr
from bnlint.readers.keras_config import build_root
from bnlint.rules import RULES
from bnlint.writers import copying, legacy_order
from bnlint.writers.savedmodel import SavedModelDir
from bnlint.writers.zipsplice import splice

from fix_helpers import cli, copy_model, digest, leftovers
from recipes import RECIPES

FIX_RECIPES = sorted(name for name in RECIPES if name.startswith("fix-"))
KERAS_FILES = [
    pytest.param(name, generation, id=f"{name}-{generation}")
    for name in FIX_RECIPES
    if "keras" in RECIPES[name].formats
    for generation in RECIPES[name].generations
]
SAVEDMODELS = [n for n in FIX_RECIPES if "savedmodel" in RECIPES[n].formats and "keras2" in RECIPES[n].generations]


def codes(report: dict) -> list[str]:
    return [d["code"] for d in report["diagnostics"]]


@pytest.mark.parametrize("name, generation", KERAS_FILES)
def test_splice_without_changes_is_byte_identical(models, tmp_path, name, generation):
    source = models.path(name, generation, "keras")
    with open(source, "rb") as src, open(tmp_path / "out.keras", "wb") as out:
        splice(src, out, {})
    assert (tmp_path / "out.keras").read_bytes() == source.read_bytes()


def test_splice_replaces_one_member_and_keeps_the_others(models, tmp_path):
    source = models.path("fix-BN014-0", "keras3", "keras")
    config = json.dumps({"replaced": True}).encode() * 50
    with open(source, "rb") as src, open(tmp_path / "out.keras", "wb") as out:
        splice(src, out, {"config.json": config})
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(tmp_path / "out.keras") as new:
        assert new.testzip() is None
        assert new.read("config.json") == config
        assert [i.filename for i in new.infolist()] == [i.filename for i in old.infolist()]
        for before, after in zip(old.infolist(), new.infolist(), strict=True):
            assert (after.date_time, after.compress_type, after.external_attr) == (
                before.date_time,
                before.compress_type,
                before.external_attr,
            )
            if before.filename != "config.json":
                assert new.read(after) == old.read(before)


def test_splice_handles_zip64_records_and_file_replacements(tmp_path):
    """Keras writes big weights with ZIP64 headers: sizes and offsets live in extra fields."""
    archive = tmp_path / "z64.keras"
    with zipfile.ZipFile(archive, "w") as out:
        with out.open("config.json", "w", force_zip64=True) as handle:
            handle.write(b"{}")
        out.writestr("middle.bin", b"x" * 5000)
        with out.open("model.weights.h5", "w", force_zip64=True) as handle:
            handle.write(b"w" * 3000)
    with open(archive, "rb") as src, open(tmp_path / "same.keras", "wb") as out:
        splice(src, out, {})
    assert (tmp_path / "same.keras").read_bytes() == archive.read_bytes()
    replacement = tmp_path / "weights.bin"
    replacement.write_bytes(b"n" * 7000)
    with open(archive, "rb") as src, open(tmp_path / "new.keras", "wb") as out:
        splice(src, out, {"config.json": b'{"a": 1}', "model.weights.h5": str(replacement)})
    with zipfile.ZipFile(tmp_path / "new.keras") as new:
        assert new.testzip() is None
        assert new.read("config.json") == b'{"a": 1}'
        assert new.read("middle.bin") == b"x" * 5000
        assert new.read("model.weights.h5") == b"n" * 7000


@pytest.mark.parametrize("kernel", [True, False], ids=["copy_file_range", "without"])
@pytest.mark.parametrize("start, at", [(0, 0), (1474, 1474), (1474, 0), (5000, 17)])
def test_copy_range_copies_exact_bytes(tmp_path, monkeypatch, start, at, kernel):
    """Every path of the copy (kernel from page boundaries, a buffered head, a buffered
    whole range, no copy_file_range at all) writes exactly the bytes asked for."""
    data = os.urandom(3 * copying.CHUNK + 12345)
    (tmp_path / "src").write_bytes(data)
    if not kernel:
        monkeypatch.setattr(os, "copy_file_range", _cross_device)
    with open(tmp_path / "src", "rb") as src, open(tmp_path / "out", "wb") as out:
        out.write(b"h" * at)
        copying.copy_range(src, out, start, len(data) - start - 7)
        out.write(b"tail")
    assert (tmp_path / "out").read_bytes() == b"h" * at + data[start:-7] + b"tail"


def _cross_device(*args):
    raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))


def test_copy_range_of_a_truncated_file_is_an_input_error(tmp_path):
    (tmp_path / "src").write_bytes(b"x" * 100)
    with open(tmp_path / "src", "rb") as src, open(tmp_path / "out", "wb") as out:
        with pytest.raises(InputError, match="truncated"):
            copying.copy_range(src, out, 0, 200)


@pytest.mark.parametrize("name", SAVEDMODELS)
def test_savedmodel_metadata_reencodes_byte_identically(models, name):
    """Nothing else in keras_metadata.pb moves: every node re-dumped gives the same bytes."""
    folder = models.path(name, "keras2", "savedmodel")
    model = SavedModelDir(str(folder))
    for node in model.top:
        if getattr(node, "meta", None) is not None:
            node.original = None  # force every node's JSON to be written again
    assert model.encode() == (folder / "keras_metadata.pb").read_bytes()


H5_CASES = [
    pytest.param(name, generation, id=f"{name}-{generation}")
    for name, recipe in sorted(RECIPES.items())
    if "h5" in recipe.formats
    for generation in recipe.generations
]


@pytest.mark.parametrize("name, generation", H5_CASES)
def test_legacy_weight_order_is_the_one_keras_wrote(models, name, generation):
    """Keras loads legacy .h5 weights by position; bnlint must predict the order it wrote
    from the config alone, for every model the tests build (nested, frozen, applications)."""
    path = models.dir(name, generation) / "model.h5"
    if not path.exists():
        pytest.skip("no .h5 for this recipe")
    with h5py.File(path, "r") as h5:
        if "model_config" not in h5.attrs:
            pytest.skip("weights-only file")
        root = build_root(json.loads(h5.attrs["model_config"]))
        checked = 0
        for top in root.children:
            group = h5["model_weights"].get(top.name)
            names = chunked_attr(group.attrs, "weight_names") if group is not None else None
            if names:
                assert legacy_order.predict(top, names, generation == "keras3") == names, top.name
                checked += 1
    assert checked or not any(layer.bn_layers() or layer.is_bn for layer in root.children)


def test_diff_shows_every_change_and_writes_nothing(models, tmp_path):
    path = copy_model(models, "fix-BN014-0", "keras3", "h5", tmp_path)
    before = digest(path)
    done = cli("--diff", path)
    assert done.returncode == 1, done.stderr
    assert "would change (BN014)" in done.stdout
    assert "functional/base/bn1: trainable: True -> False" in done.stdout
    assert "functional/base/bn2: trainable: True -> False" in done.stdout
    assert "not applied BN002" in done.stdout and "--unsafe-fixes" in done.stdout
    assert digest(path) == before and leftovers(tmp_path) == []


def test_fix_reports_json_with_changes_and_what_remains(models, tmp_path):
    path = copy_model(models, "fix-BN014-0", "keras2", "keras", tmp_path)
    done = cli("--fix", "--format", "json", path)
    assert done.returncode == 0, done.stderr
    [report] = json.loads(done.stdout)["files"]
    assert report["output"] == str(path) and report["error"] is None and report["diagnostics"] == []
    [applied] = report["fixes"]
    assert applied["code"] == "BN014" and applied["applicability"] == "safe"
    assert {(c["layer"], c["setting"], c["old"], c["new"]) for c in applied["changes"]} == {
        ("model/base/bn1", "trainable", True, False),
        ("model/base/bn2", "trainable", True, False),
    }
    assert [s["code"] for s in report["skipped"]] == ["BN002"]


def test_output_writes_a_new_file_and_keeps_the_original(models, tmp_path):
    path = copy_model(models, "fix-BN001-0", "keras3", "keras", tmp_path / "in")
    before = digest(path)
    target = tmp_path / "out" / "fixed.keras"
    target.parent.mkdir()
    done = cli("--fix", "-o", target, path)
    assert done.returncode == 0, done.stderr
    assert digest(path) == before
    assert "BN001" in codes(bnlint.lint(str(path))["files"][0])
    assert "BN001" not in codes(bnlint.lint(str(target))["files"][0])
    assert leftovers(target.parent) == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["-o", "fixed.h5"], "must end with .keras"),
        (["-o", "fixed.keras", "EXTRA"], "exactly one model"),
        (["--diff", "-o", "fixed.keras"], "cannot be combined"),
    ],
)
def test_output_misuse_is_a_usage_error(models, tmp_path, args, message):
    path = copy_model(models, "fix-BN001-0", "keras3", "keras", tmp_path)
    before = digest(path)
    args = [str(path) if a == "EXTRA" else str(tmp_path / a) if a.startswith("fixed") else a for a in args]
    done = cli("--fix", *args, path)
    assert done.returncode == 2
    assert message in done.stderr + done.stdout
    assert digest(path) == before and not list(tmp_path.glob("fixed.*"))


def test_backup_keeps_the_original_and_is_never_overwritten(models, tmp_path):
    original = copy_model(models, "fix-BN014-0", "keras3", "keras", tmp_path / "src")
    path = copy_model(models, "fix-BN014-0", "keras3", "keras", tmp_path)
    before = digest(path)
    assert cli("--fix", "--backup", path).returncode == 0
    backup = path.with_name(path.name + ".bak")
    assert digest(backup) == before and digest(path) != before
    path.write_bytes(original.read_bytes())  # unfixed again, with the old backup still there
    done = cli("--fix", "--backup", path)
    assert done.returncode == 2 and "already exists" in done.stderr
    assert digest(path) == before and digest(backup) == before


def test_unsafe_fixes_need_the_flag(models, tmp_path):
    path = copy_model(models, "fix-BN014-0", "keras3", "keras", tmp_path)
    safe = bnlint.fix(str(path), select=["BN002"])["files"][0]
    assert safe["fixes"] == [] and safe["skipped"][0]["reason"].startswith("unsafe fix")
    assert "BN002" in codes(safe) and safe["output"] is None
    unsafe = bnlint.fix(str(path), select=["BN002"], unsafe_fixes=True)["files"][0]
    assert [f["code"] for f in unsafe["fixes"]] == ["BN002"]
    assert {c["new"] for c in unsafe["fixes"][0]["changes"]} == {0.9}
    assert "BN002" not in codes(unsafe)


@pytest.mark.parametrize(
    "name, code, reason",
    [
        ("fix-BN008-0", "BN008", "TensorFlow checkpoint"),
        ("fix-BN001-1", "BN001", "cannot rebuild as Functional"),
    ],
)
def test_savedmodel_skips_what_it_cannot_rewrite(models, tmp_path, name, code, reason):
    path = copy_model(models, name, "keras2", "savedmodel", tmp_path)
    before = digest(path)
    report = bnlint.fix(str(path), select=[code])["files"][0]
    assert report["error"] is None and report["fixes"] == [] and report["output"] is None
    [skipped] = report["skipped"]
    assert skipped["code"] == code and reason in skipped["reason"]
    assert code in codes(report)  # still reported: nothing was fixed
    assert digest(path) == before


def _datasets(path) -> dict[str, bytes]:
    found = {}
    with h5py.File(path, "r") as h5:
        h5.visititems(
            lambda name, obj: found.update({name: obj[()].tobytes()}) if isinstance(obj, h5py.Dataset) else None
        )
    return found


@pytest.mark.parametrize("version", ["2.2.4", "2.1.6-tf"])
def test_legacy_keras_file_fix(tmp_path, version):
    """Files of Keras versions that cannot be installed here (hand-built, tests/legacy_files.py):
    old h5py stored model_config as a fixed-length string, which must grow, not be cut off."""
    path = legacy.write(tmp_path / "model.h5", legacy.frozen_base_model(), version, legacy.base_weights())
    arrays = _datasets(path)
    [report] = bnlint.fix(str(path), select=["BN011"])["files"]
    assert [f["code"] for f in report["fixes"]] == ["BN011"] and report["diagnostics"] == []
    with h5py.File(path, "r") as h5:
        config = json.loads(h5.attrs["model_config"])
    [base] = [layer for layer in config["config"]["layers"] if layer["name"] == "base"]
    [bn] = [layer for layer in base["config"]["layers"] if layer["name"] == "bn1"]
    assert [item[3] for node in bn["inbound_nodes"] for item in node] == [{"training": False}]
    assert _datasets(path) == arrays
    assert bnlint.fix(str(path), select=["BN011"])["files"][0]["output"] is None


@pytest.mark.parametrize(
    "make, reason",
    [
        (legacy.keras1_model, "Keras 1 model, which records no call arguments"),
        (legacy.bare_list_sequential, "pre-2.2.3 Sequential"),
    ],
)
def test_legacy_layouts_that_cannot_take_the_fix(tmp_path, make, reason):
    weights = {}  # the config alone decides: nothing is written
    path = legacy.write(tmp_path / "model.h5", make(), "1.2.2" if make is legacy.keras1_model else "2.1.0", weights)
    before = digest(path)
    [report] = bnlint.fix(str(path), select=["BN011"])["files"]
    assert report["fixes"] == [] and reason in report["skipped"][0]["reason"]
    assert digest(path) == before


def test_savedmodel_backup_keeps_the_original_directory(models, tmp_path):
    path = copy_model(models, "fix-BN014-0", "keras2", "savedmodel", tmp_path)
    before = digest(path)
    [report] = bnlint.fix(str(path), backup=True)["files"]
    assert report["error"] is None and report["diagnostics"] == []
    assert digest(tmp_path / "savedmodel.bak") == before and digest(path) != before
    assert leftovers(tmp_path) == []


def test_bn_axis_fix_is_refused_in_models(models, tmp_path):
    """BN009's new axis would change the BN variables' shapes: the writer does not guess them."""
    name = next(f"BN009-{i}" for i, e in enumerate(RULES["BN009"].examples) if e.kind == "model" and e.fires_on)
    path = copy_model(models, name, "keras3", "keras", tmp_path)
    before = digest(path)
    [report] = bnlint.fix(str(path), select=["BN009"], unsafe_fixes=True)["files"]
    assert report["fixes"] == [] and "shape of the BN variables" in report["skipped"][0]["reason"]
    assert digest(path) == before
