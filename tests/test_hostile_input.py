"""Hostile and malformed input, generated at test time from models real Keras saved: each
case gets its expected behaviour (one clear error, or the finding that says what the file
holds), in bounded time and memory, with no traceback, and the good file linted after it
is still linted. No malformed model is ever reported clean."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

import bnlint

GOOD = ("BN001-0", "keras3", "keras")
SECONDS = 30  # per case: a hang or a runaway loop, not a speed measurement
RSS_LIMIT_MIB = 400


def rewrite_config(source: Path, target: Path, edit) -> Path:
    """A copy of a .keras archive with its config.json replaced by edit(config)."""
    with zipfile.ZipFile(source) as archive, zipfile.ZipFile(target, "w") as out:
        for info in archive.infolist():
            data = archive.read(info)
            if info.filename == "config.json":
                edited = edit(json.loads(data))
                data = edited if isinstance(edited, bytes) else json.dumps(edited).encode()
            out.writestr(info, data)
    return target


def functional(config: dict) -> dict:
    """The config of the (outer) functional model in a saved BN001 fixture."""
    assert config["class_name"] == "Functional"
    return config["config"]


def first_bn(config):
    stack = [config]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("class_name") == "BatchNormalization":
                return item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    raise AssertionError("no BN layer")


def _layers_not_a_list(config):
    functional(config)["layers"] = {"not": "a list"}
    return config


def _missing_inbound(config):
    layers = functional(config)["layers"]
    last = layers[-1]
    last["inbound_nodes"][0]["args"][0]["config"]["keras_history"][0] = "ghost"
    return config


def _cycle(config):
    layers = functional(config)["layers"]
    # The first layer after the input is made to consume the last layer: a loop.
    first = next(layer for layer in layers if layer["inbound_nodes"])
    first["inbound_nodes"][0]["args"][0]["config"]["keras_history"] = [layers[-1]["name"], 0, 0]
    return config


def _node_out_of_range(config):
    last = functional(config)["layers"][-1]
    last["inbound_nodes"][0]["args"][0]["config"]["keras_history"][1] = 7
    return config


def _tensor_index_bad(config):
    last = functional(config)["layers"][-1]
    last["inbound_nodes"][0]["args"][0]["config"]["keras_history"][2] = "zero"
    return config


def _momentum_string(config):
    first_bn(config)["config"]["momentum"] = "0.99"
    return config


def _epsilon_negative(config):
    first_bn(config)["config"]["epsilon"] = -1e-3
    return config


def _duplicate_layer_names(config):
    layers = functional(config)["layers"]
    layers[-1]["config"]["name"] = layers[-1]["name"] = layers[-2]["name"]
    return config


def _entry_not_a_layer(config):
    functional(config)["layers"].insert(1, "Dense")
    return config


def _deep_json(config):
    return b"[" * 200_000 + b"]" * 200_000


def _invalid_utf8(config):
    return b'{"class_name": "Functional", "config": {"name": "\xff\xfe"}}'


def keras_case(edit):
    def make(tmp_path, models):
        return rewrite_config(models.path(*GOOD), tmp_path / "case.keras", edit)

    return make


def zip_bomb_config(tmp_path, models):
    target = tmp_path / "bomb.keras"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("config.json", "w", force_zip64=True) as member:
            chunk = b" " * (1 << 24)
            for _ in range(64):  # 1 GiB of spaces, a few MB compressed
                member.write(chunk)
    return target


def zip_bomb_weights(tmp_path, models):
    """A valid config, and a weights member that decompresses to 1 GiB: the model is linted,
    its weights are not read (a note says so)."""
    source = models.path(*GOOD)
    target = tmp_path / "bomb_weights.keras"
    with zipfile.ZipFile(source) as archive, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("config.json", archive.read("config.json"))
        out.writestr("metadata.json", archive.read("metadata.json"))
        with out.open("model.weights.h5", "w", force_zip64=True) as member:
            member.write(archive.read("model.weights.h5"))
            for _ in range(64):
                member.write(b"\0" * (1 << 24))
    return target


def extra_members(*members):
    def make(tmp_path, models):
        target = tmp_path / "extra.keras"
        with zipfile.ZipFile(models.path(*GOOD)) as archive, zipfile.ZipFile(target, "w") as out:
            for info in archive.infolist():
                out.writestr(info, archive.read(info))
            for name, data in members:
                with pytest.warns(UserWarning) if name in archive.namelist() else _nothing():
                    out.writestr(name, data)
        return target

    return make


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _npy(array) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def _npz(**arrays) -> bytes:
    import io

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def many_members(tmp_path, models):
    target = tmp_path / "many.keras"
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr("config.json", "{}")
        for index in range(20_000):
            archive.writestr(f"assets/{index}", b"")
    return target


def h5_case(edit, name="case.h5"):
    def make(tmp_path, models):
        target = tmp_path / name
        shutil.copy(models.path("BN001-0", "keras2", "h5"), target)
        with h5py.File(target, "r+") as h5:
            edit(h5, tmp_path)
        return target

    return make


def _external_link(h5, tmp_path):
    outside = tmp_path / "outside.h5"
    with h5py.File(outside, "w") as other:
        other["secret"] = np.arange(4, dtype="float32")
    h5["model_weights/link"] = h5py.ExternalLink(str(outside), "/secret")


def _soft_link_missing(h5, tmp_path):
    h5["model_weights/dangling"] = h5py.SoftLink("/nowhere/at/all")


def _bn_dataset(h5):
    found = []
    h5["model_weights"].visititems(lambda name, obj: found.append(name) if name.endswith("moving_mean:0") else None)
    return "model_weights/" + found[0]


def _external_storage(h5, tmp_path):
    """The BN moving mean replaced by a dataset whose bytes live in another file."""
    secret = tmp_path / "secret.bin"
    path = _bn_dataset(h5)
    count = h5[path].shape[0]
    secret.write_bytes(np.full(count, 7.0, dtype="float32").tobytes())
    del h5[path]
    h5.create_dataset(path, shape=(count,), dtype="float32", external=[(str(secret), 0, count * 4)])


def _virtual_dataset(h5, tmp_path):
    outside = tmp_path / "source.h5"
    path = _bn_dataset(h5)
    count = h5[path].shape[0]
    with h5py.File(outside, "w") as other:
        other["data"] = np.full(count, 7.0, dtype="float32")
    layout = h5py.VirtualLayout(shape=(count,), dtype="float32")
    layout[:] = h5py.VirtualSource(str(outside), "data", shape=(count,))
    del h5[path]
    h5.create_virtual_dataset(path, layout)


def _config_wrong_type(h5, tmp_path):
    h5.attrs["model_config"] = np.arange(10)


def savedmodel_case(edit):
    def make(tmp_path, models):
        target = tmp_path / "sm"
        shutil.copytree(models.path("BN001-0", "keras2", "savedmodel"), target, symlinks=True)
        edit(target, tmp_path)
        return target

    return make


def _metadata(data):
    return lambda target, tmp_path: (target / "keras_metadata.pb").write_bytes(data)


def _symlink_loop(target, tmp_path):
    (target / "assets" / "loop").parent.mkdir(exist_ok=True)
    os.symlink("..", target / "assets" / "loop")


def _metadata_outside(target, tmp_path):
    outside = tmp_path / "elsewhere.pb"
    shutil.move(target / "keras_metadata.pb", outside)
    os.symlink(outside, target / "keras_metadata.pb")


def file_case(name, data):
    def make(tmp_path, models):
        target = tmp_path / name
        target.write_bytes(data(models) if callable(data) else data)
        return target

    return make


def fifo(tmp_path, models):
    target = tmp_path / "pipe.h5"
    os.mkfifo(target)
    return target


RANDOM = random.Random(7).randbytes(4096)


def truncated(fmt):
    return lambda models: models.path("BN001-0", "keras3", fmt).read_bytes()[:2000]


# case -> (builder, what bnlint must say: an error containing the text, "BN013", or
# "note: ..." for a file that is linted but for what the note says was not read)
CASES = {
    "empty .keras": (file_case("empty.keras", b""), "empty file"),
    "empty .h5": (file_case("empty.h5", b""), "empty file"),
    "empty .ipynb": (file_case("empty.ipynb", b""), "not a Jupyter notebook"),
    "random .keras": (file_case("random.keras", RANDOM), "not a Keras model"),
    "random .h5": (file_case("random.h5", RANDOM), "not a Keras model"),
    "random .ipynb": (file_case("random.ipynb", RANDOM), "not a Jupyter notebook"),
    "random .py": (file_case("random.py", RANDOM), "python"),
    "truncated .keras": (file_case("truncated.keras", truncated("keras")), "zip"),
    "truncated .h5": (file_case("truncated.h5", truncated("h5")), "HDF5"),
    "zip bomb in config.json": (zip_bomb_config, "larger than"),
    "millions of zip members": (many_members, "members"),
    "config.json not UTF-8": (keras_case(_invalid_utf8), "not valid JSON"),
    "JSON nested 200,000 deep": (keras_case(_deep_json), "nested"),
    "layers not a list": (keras_case(_layers_not_a_list), "not a list of layers"),
    "a layers entry that is not a layer": (keras_case(_entry_not_a_layer), "not a layer config"),
    "node naming a missing layer": (keras_case(_missing_inbound), "does not have"),
    "node cycle": (keras_case(_cycle), "cycle"),
    "node index out of range": (keras_case(_node_out_of_range), "call nodes"),
    "tensor index not a number": (keras_case(_tensor_index_bad), "tensor"),
    "BN momentum a string": (keras_case(_momentum_string), "momentum"),
    "BN epsilon negative": (keras_case(_epsilon_negative), "epsilon"),
    "two layers with one name": (keras_case(_duplicate_layer_names), "two layers named"),
    "zip member ../": (extra_members(("../../evil.py", b"print(1)")), "BN013"),
    "zip member with an absolute name": (extra_members(("/tmp/evil.py", b"print(1)")), "BN013"),
    "duplicate zip member": (extra_members(("metadata.json", b"{}")), "BN013"),
    "pickled zip member": (extra_members(("assets/state.pkl", b"cos\nsystem\n(S'true'\ntR.")), "BN013"),
    "npz with object arrays": (extra_members(("model.weights.npz", _npz(a=np.array([None], dtype=object)))), "BN013"),
    "npy with object arrays": (extra_members(("assets/x.npy", _npy(np.array([{}], dtype=object)))), "BN013"),
    "HDF5 external link": (h5_case(_external_link), "link"),
    "HDF5 soft link to nothing": (h5_case(_soft_link_missing), "link"),
    "HDF5 external storage": (h5_case(_external_storage), "note: outside the file"),
    "HDF5 virtual dataset": (h5_case(_virtual_dataset), "note: outside the file"),
    "model_config of the wrong type": (h5_case(_config_wrong_type), "not valid JSON"),
    "keras_metadata.pb truncated varint": (savedmodel_case(_metadata(b"\x0a\xff\xff")), "protobuf"),
    "keras_metadata.pb absurd length": (
        savedmodel_case(_metadata(b"\x0a\xff\xff\xff\xff\x0f" + b"x" * 10)),
        "protobuf",
    ),
    "keras_metadata.pb linked from outside": (savedmodel_case(_metadata_outside), "outside"),
    "FIFO named like a model": (fifo, "not a regular file"),
    "script nested too deeply": (file_case("deep.py", b"import keras\nx = " + b"-" * 200_000 + b"1\n"), "nested"),
    "50 MB script": (file_case("big.py", b"import keras\n" + b"x = 1\n" * (9 << 20)), "larger than"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_input(tmp_path, models, case):
    make, expected = CASES[case]
    bad = make(tmp_path, models)
    good = models.path(*GOOD)
    started = time.monotonic()
    report = bnlint.lint([str(bad), str(good)], select=["BN001", "BN005", "BN006", "BN013"])
    assert time.monotonic() - started < SECONDS
    [result, after] = report["files"]
    if expected == "BN013":
        assert result["error"] is None and "BN013" in {d["code"] for d in result["diagnostics"]}
    elif expected.startswith("note: "):
        assert result["error"] is None and any(expected[6:] in note for note in result["notes"])
    else:
        assert result["error"] is not None, f"{case}: {result}"
        assert expected.lower() in result["error"].lower() and "internal error" not in result["error"]
        assert "\n" not in result["error"]
    assert after["error"] is None and [d["code"] for d in after["diagnostics"]] == ["BN001"]


def _zeroed_heap_object(path: Path) -> None:
    """Zero the header of the second object in the file's first global heap collection: the
    HDF5 library's parser then never advances (H5HG deserialize, idx 0 and size 0)."""
    import struct

    data = bytearray(path.read_bytes())
    at = data.find(b"GCOL")
    second = at + 16 + 16 + (struct.unpack("<Q", data[at + 24 : at + 32])[0] + 7) // 8 * 8
    data[second : second + 16] = bytes(16)
    path.write_bytes(bytes(data))


def test_a_file_that_makes_hdf5_loop_is_stopped(tmp_path, models):
    bad = tmp_path / "loops.h5"
    shutil.copy(models.path("BN001-0", "keras2", "h5"), bad)
    _zeroed_heap_object(bad)
    good = models.path(*GOOD)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "bnlint", "--limit", "max-seconds=2", str(bad), str(good)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert time.monotonic() - started < 30
    assert done.returncode == 2 and f"{bad}: error: reading the file took longer than 2 s" in done.stderr
    assert "BN001" in done.stdout  # the next file is still linted


def test_symlink_loop_in_a_savedmodel_ends(tmp_path, models):
    bad = savedmodel_case(_symlink_loop)(tmp_path, models)
    [result] = bnlint.lint(str(bad), select=["BN001"])["files"]
    assert result["error"] is None and [d["code"] for d in result["diagnostics"]] == ["BN001"]


def test_weights_bomb_is_linted_without_its_weights(tmp_path, models):
    bad = zip_bomb_weights(tmp_path, models)
    [result] = bnlint.lint(str(bad))["files"]
    assert result["error"] is None and "BN001" in {d["code"] for d in result["diagnostics"]}
    assert any("larger than the limit" in note for note in result["notes"])


def test_external_data_is_never_read(tmp_path, models):
    """The external file holds 7.0 everywhere: no output of bnlint may show it."""
    for make in (h5_case(_external_storage, "ext.h5"), h5_case(_virtual_dataset, "virtual.h5")):
        bad = make(tmp_path, models)
        for verb in (["inspect", "--format", "json"], ["--format", "json"]):
            done = subprocess.run([sys.executable, "-m", "bnlint", *verb, str(bad)], capture_output=True, text=True)
            assert "outside the file" in done.stdout and "Traceback" not in done.stderr
            assert "7.0" not in done.stdout


def test_a_notebook_with_a_100_mb_output_is_linted(tmp_path):
    source = ["import tensorflow as tf\n", "base = tf.keras.applications.ResNet50(include_top=False)\n"]
    source += ["base.trainable = False\n", "model = tf.keras.Sequential([base, tf.keras.layers.Dense(2)])\n"]
    output = {"output_type": "display_data", "metadata": {}, "data": {"image/png": "A" * (100 << 20)}}
    cell = {"cell_type": "code", "metadata": {}, "execution_count": 1, "source": source, "outputs": [output]}
    target = tmp_path / "big.ipynb"
    target.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [cell]}))
    peak, report = _peak_rss([target])
    assert [d["code"] for d in report["files"][0]["diagnostics"]] == ["BN001"]
    assert peak < RSS_LIMIT_MIB, f"peak RSS {peak:.0f} MiB"


def test_bombs_stay_in_bounded_memory(tmp_path, models):
    """One process over every case: its peak RSS stays under 400 MB."""
    paths = []
    for index, case in enumerate(sorted(CASES)):
        folder = tmp_path / f"case{index}"
        folder.mkdir()
        if case != "FIFO named like a model":
            paths.append(CASES[case][0](folder, models))
    paths.append(zip_bomb_weights(tmp_path, models))
    peak, report = _peak_rss(paths)
    assert len(report["files"]) == len(paths)
    assert peak < RSS_LIMIT_MIB, f"peak RSS {peak:.0f} MiB"


def _peak_rss(paths) -> tuple[float, dict]:
    """(peak RSS in MiB of one `bnlint --format json` process over `paths`, its report)."""
    probe = (
        "import resource, subprocess, sys\n"
        "done = subprocess.run([sys.executable, '-m', 'bnlint', '--format', 'json', *sys.argv[1:]],"
        " capture_output=True, text=True)\n"
        "sys.stdout.write(done.stdout)\n"
        "sys.stderr.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe, *map(str, paths)], capture_output=True, text=True, timeout=600)
    return int(done.stderr.strip().splitlines()[-1]) / 1024, json.loads(done.stdout)
