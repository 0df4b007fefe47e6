"""BN weights are read from real Keras files in every format: the right arrays, only
those arrays, and a damaged weights file gives notes instead of errors."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import zipfile

import h5py
import numpy as np
import pytest
from findings import said
from recipes_bnstats import KNOWN_SEEDS

import bnlint
from bnlint.readers import read_model, weights_h5
from bnlint.readers.tf_bundle import Bundle
from bnlint.weights import variable_names

FORMATS = [
    pytest.param(generation, fmt, id=f"{generation}-{fmt}")
    for generation in ("keras3", "keras2")
    for fmt in ("keras", "h5", "savedmodel")
    if not (generation == "keras3" and fmt == "savedmodel")
]


def lint(path, **kwargs) -> dict:
    [result] = bnlint.lint(str(path), **kwargs)["files"]
    return result


def codes(result: dict) -> list[str]:
    return [d["code"] for d in result["diagnostics"]]


@pytest.mark.parametrize("generation, fmt", FORMATS)
def test_reads_each_bn_variable_exactly(models, generation, fmt):
    """Every variable was set to arange(channels) + seed + 10 * position with Keras."""
    _assert_known_values(models.path("i3-known", generation, fmt), fmt)


# Other writers (h5py scripts, converters) may store BN variables in any HDF5 layout; the
# direct read of contiguous IEEE floats must give the same values as HDF5's own read.
STORAGE = {
    "chunked-gzip": {"chunks": True, "compression": "gzip"},
    "big-endian": {"dtype": ">f4"},
    "float64": {"dtype": "<f8"},
    "float16": {"dtype": "<f2"},
    "compact": {"compact": True},
}


@pytest.mark.parametrize("storage", STORAGE)
@pytest.mark.parametrize("fmt", ["keras", "h5"])
def test_reads_bn_variables_in_any_hdf5_storage(models, tmp_path, fmt, storage):
    source = models.path("i3-known", "keras3", fmt)
    path = tmp_path / source.name
    if fmt == "h5":
        shutil.copy(source, path)
        _rewrite_datasets(path, **STORAGE[storage])
    else:
        with zipfile.ZipFile(source) as archive:
            archive.extractall(tmp_path / "members")
            names = archive.namelist()
        _rewrite_datasets(tmp_path / "members" / "model.weights.h5", **STORAGE[storage])
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:  # compressed: read as a stream
            for name in names:
                archive.write(tmp_path / "members" / name, name)
    _assert_known_values(path, fmt)


def test_weights_of_another_layer_are_not_read(models, tmp_path):
    """Keras 3 records each layer's name beside its variables; a group that holds another
    layer's weights (a mapping bnlint got wrong, or an edited file) is a note, not data."""
    source = models.path("i3-known", "keras3", "keras")
    with zipfile.ZipFile(source) as archive:
        archive.extractall(tmp_path / "members")
        names = archive.namelist()
    with h5py.File(tmp_path / "members" / "model.weights.h5", "r+") as h5:
        h5["layers/functional/layers/batch_normalization/vars"].attrs["name"] = "bn2"
    path = tmp_path / "swapped.keras"
    with zipfile.ZipFile(path, "w") as archive:  # stored, as Keras writes it: read in place
        for name in names:
            archive.write(tmp_path / "members" / name, name)
    with read_model(str(path), "keras") as graph:
        bn1 = next(layer for layer in graph.bn_layers() if layer.name == "bn1")
        assert graph.bn_weights(bn1) is None
        [note] = graph.all_notes()
    assert "holds layer 'bn2', not 'bn1'" in note and "base/bn1" in note


def _rewrite_datasets(path, compact=False, **options) -> None:
    """Rewrite every float dataset of an HDF5 file with the given storage options."""
    with h5py.File(path, "r+") as h5:
        names = []
        h5.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
        for name in names:
            data = h5[name][()]
            if data.dtype.kind != "f" or data.ndim != 1:
                continue
            del h5[name]
            if compact:
                space = h5py.h5s.create_simple(data.shape)
                plist = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
                plist.set_layout(h5py.h5d.COMPACT)
                dataset = h5py.h5d.create(h5.id, name.encode(), h5py.h5t.IEEE_F32LE, space, dcpl=plist)
                dataset.write(h5py.h5s.ALL, h5py.h5s.ALL, data.astype("<f4"))
            else:
                h5.create_dataset(name, data=data.astype(options.get("dtype", data.dtype)), **options)


def _assert_known_values(path, fmt) -> None:
    with read_model(str(path), fmt) as graph:
        seen = {}
        for bn in graph.bn_layers():
            arrays = graph.bn_weights(bn)
            path = bn.path.split("/", 1)[1]
            seen[path] = list(arrays)
            for position, name in enumerate(variable_names(bn.config)):
                expected = np.arange(arrays[name].size) + KNOWN_SEEDS[path] + 10 * position
                np.testing.assert_array_equal(arrays[name], expected, err_msg=f"{path}/{name}")
        assert graph.all_notes() == []
    assert seen == {
        "base/bn1": ["gamma", "beta", "moving_mean", "moving_variance"],
        "base/bn2": ["gamma", "beta", "moving_mean", "moving_variance"],
        "top_bn": ["beta", "moving_mean", "moving_variance"],  # scale=False: no gamma
    }


@pytest.mark.parametrize("generation, fmt", FORMATS)
def test_renorm_statistics_are_checked(models, generation, fmt):
    result = lint(models.path("i3-renorm-nan", generation, fmt))
    with read_model(str(models.path("i3-renorm-nan", generation, fmt)), fmt) as graph:
        [bn] = graph.bn_layers()
        assert list(graph.bn_weights(bn)) == [
            "gamma",
            "beta",
            "moving_mean",
            "moving_variance",
            "moving_stddev",
            "renorm_mean",
            "renorm_stddev",
        ]
    [finding] = [d for d in result["diagnostics"] if d["code"] == "BN006"]
    assert finding["layer"].endswith("/rn")
    assert "'rn'" in said(finding) and "1 of 8 channels" in said(finding)
    assert "moving_stddev NaN in 1 channel" in said(finding)


@pytest.mark.parametrize("generation, fmt", FORMATS)
def test_stale_statistics_with_scale_or_center_off(models, generation, fmt):
    """scale=False leaves beta as the only trained variable; with center=False too there
    is no evidence of training, so nothing is reported for that layer."""
    result = lint(models.path("i3-partial-affine", generation, fmt))
    stale = [d for d in result["diagnostics"] if d["code"] == "BN005"]
    assert [d["layer"].rsplit("/", 1)[1] for d in stale] == ["beta_only"]
    assert "beta moved by up to 0.3" in said(stale[0])


@pytest.mark.parametrize("generation, fmt", FORMATS)
def test_corrupted_statistics_name_layer_and_channels(models, generation, fmt):
    """BN006's first example set moving_variance[:3] = [-0.5, NaN, 1.0] with Keras."""
    [finding] = [d for d in lint(models.path("BN006-0", generation, fmt))["diagnostics"] if d["code"] == "BN006"]
    assert "'batch_normalization'" in said(finding)
    assert "in 2 of 8 channels" in said(finding)
    assert "moving_variance NaN in 1 channel" in said(finding)
    assert "moving_variance negative in 1 channel (min -0.5)" in said(finding)


def _datasets_read(monkeypatch) -> list[str]:
    """Record every HDF5 dataset and checkpoint tensor bnlint reads: through h5py's
    high-level API, the HDF5 weight reader's own (low-level) reads, and the TF bundle."""
    read: list[str] = []
    monkeypatch.setattr("bnlint.isolation.FORK", False)  # read in this process, where the spies are
    original_getitem = h5py.Dataset.__getitem__
    original_stored = weights_h5._stored
    original_read = Bundle.read

    def getitem(self, key):
        read.append(self.name)
        return original_getitem(self, key)

    def stored(parent, name, where, raw):
        array = original_stored(parent, name, where, raw)

        def recorded_read():
            read.append(where)
            return array.read()

        return dataclasses.replace(array, read=recorded_read)

    def bundle_read(self, key):
        read.append(key)
        return original_read(self, key)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", getitem)
    monkeypatch.setattr(weights_h5, "_stored", stored)
    monkeypatch.setattr(Bundle, "read", bundle_read)
    return read


@pytest.mark.parametrize("generation, fmt", FORMATS)
def test_only_bn_arrays_are_read(models, generation, fmt, monkeypatch):
    read = _datasets_read(monkeypatch)
    result = lint(models.path("i3-known", generation, fmt))
    assert result["error"] is None
    # 2 x 4 variables of the base's BN layers + 3 of top_bn; the optimizer's iteration
    # counter is a scalar, and a SavedModel's object graph maps layers to tensors.
    weights = [name for name in read if "optimizer" not in name and name != "_CHECKPOINTABLE_OBJECT_GRAPH"]
    assert len(weights) == 11, read
    assert not any("kernel" in name or "dense" in name or "conv" in name for name in weights), read


def _peak_rss_mib(*args: str) -> float:
    process = subprocess.Popen([sys.executable, "-m", "bnlint", *args], stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    assert os.waitstatus_to_exitcode(status) in (0, 1)
    return usage.ru_maxrss / 1024


@pytest.mark.parametrize(
    "name, generation, fmt",
    [("i3-big", "keras3", "keras"), ("i3-big", "keras3", "h5"), ("i3-big-savedmodel", "keras2", "savedmodel")],
)
def test_100mb_model_peak_memory_does_not_grow(models, name, generation, fmt):
    """Linting with the weight rules on a 100 MB model needs no more memory than linting
    a tiny one: only the BN arrays (5,000 channels here) are read."""
    big = models.path(name, generation, fmt)
    size = sum(p.stat().st_size for p in big.rglob("*")) if big.is_dir() else big.stat().st_size
    assert size > 95e6
    small = models.path("i3-known", generation, fmt)
    baseline = _peak_rss_mib(str(small), "--select", "BN005,BN006")
    peak = _peak_rss_mib(str(big), "--select", "BN005,BN006")
    assert peak - baseline < 15, f"peak {peak:.0f} MiB vs {baseline:.0f} MiB for a tiny model"


def test_weight_files_are_closed_after_linting(models):
    paths = [models.path("i3-known", "keras2", fmt) for fmt in ("keras", "h5", "savedmodel")]
    before = len(os.listdir("/proc/self/fd"))
    for path in paths:
        assert lint(path)["error"] is None
    assert len(os.listdir("/proc/self/fd")) == before


def test_weights_are_not_read_when_no_rule_needs_them(models, monkeypatch):
    read = _datasets_read(monkeypatch)
    lint(models.path("i3-known", "keras3", "keras"), select=["BN003", "BN007", "BN008", "BN009", "BN010", "BN012"])
    assert [name for name in read if "optimizer" not in name] == []


def test_pretrained_check_reads_one_bn_layer_per_base(models, monkeypatch):
    """BN001/BN014 ask whether a base's statistics ever moved (pretrained, or still the initial
    0/1): the first BN layer that moved answers it, the others are not read."""
    read = _datasets_read(monkeypatch)
    lint(models.path("i3-known", "keras3", "keras"), select=["BN001", "BN014"])
    layers = {name.rsplit("/vars/", 1)[0] for name in read if "optimizer" not in name}
    assert len(layers) == 1
