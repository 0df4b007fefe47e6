"""`bnlint probe` and `bnlint recalibrate` on models built, trained and saved by real
Keras 3 and tf_keras (tests/probe_keras.py, one process per generation, cached), run as
a user runs them: `python -m bnlint ...`. Every command line runs once, two at a time,
in one session fixture; Keras itself checks the results, again one process per
generation. The test process never imports TensorFlow.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest

from bnlint.shift import THRESHOLD

from conftest import CACHE, GENERATIONS, PACKAGE

HELPER = Path(__file__).with_name("probe_keras.py")
SAMPLES = 256  # in close.npy and far.npy (probe_keras.SAMPLES)
PRIOR = 100
STATS = ("moving_mean", "moving_variance")
# Recalibrations checked with Keras, per generation: (model, format, options); --backup: in place.
RECALIBRATIONS = [
    ("nested", "keras", ()),
    ("sequential", "h5", ("--prior", str(PRIOR), "--backup")),
]


def _built(generation: str) -> Path:
    digest = hashlib.sha256(HELPER.read_bytes() + version(PACKAGE[generation]).encode()).hexdigest()[:12]
    folder = CACHE / "probe" / f"{generation}-{digest}"
    for old in folder.parent.glob(f"{generation}-*"):  # an older helper's (a concurrent run's are new)
        if old != folder and time.time() - old.stat().st_mtime > 3600:
            shutil.rmtree(old, ignore_errors=True)
    if not (folder / "built.json").exists():
        scratch = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(scratch, ignore_errors=True)
        run = subprocess.run(
            [sys.executable, str(HELPER), generation, "build", str(scratch)], capture_output=True, text=True
        )
        assert run.returncode == 0, run.stderr[-3000:]
        shutil.rmtree(folder, ignore_errors=True)
        scratch.rename(folder)
    return folder


def _cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bnlint", *map(str, args)], capture_output=True, text=True, timeout=600
    )


def _cases(generation: str, built: Path, work: Path) -> dict[str, list]:
    """Every command line of the tests for one generation, by name (each costs a TensorFlow
    start: the cases that test reading or rendering run on one generation only)."""
    close, far = built / "close.npy", built / "far.npy"
    cases = {"close": ["probe", built / "nested.keras", "--data", close, "--format", "json"]}
    if generation == "keras3":
        cases["far"] = ["probe", built / "nested.h5", "--data", far, "--plot", work / "far.png"]
        for name, data in (("images", built / "images"), ("images-npy", built / "images.npy")):
            cases[name] = ["probe", built / "nested.h5", "--data", data, "--preprocess", "tf", "--format", "json"]
        cases["broken"] = ["probe", built / "broken.keras", "--data", close, "--format", "json"]
        cases["broken-recalibrate"] = [
            "recalibrate",
            built / "broken.keras",
            "--data",
            close,
            "-o",
            work / "fixed.keras",
        ]
        cases["shared"] = ["recalibrate", built / "shared.keras", "--data", far, "-o", work / "shared.keras"]
        cases["shared"] += ["--format", "json"]
        cases["lambda"] = ["probe", built / "lambda.keras", "--data", close]  # refused before TensorFlow starts
        cases["lambda-trusted"] = ["probe", built / "lambda.keras", "--data", close, "--trust-model-code"]
    else:
        cases["far"] = ["probe", built / "sequential.keras", "--data", far, "--format", "json"]
        cases["savedmodel-probe"] = ["probe", built / "nested_savedmodel", "--data", close]
        cases["savedmodel-recalibrate"] = ["recalibrate", built / "nested_savedmodel", "--data", close]
    for name, fmt, extra in RECALIBRATIONS:
        source = built / f"{name}.{fmt}"
        if "--backup" in extra:  # in place, on a private copy
            target = work / f"inplace-{name}.{fmt}"
            shutil.copyfile(source, target)
            args = ["recalibrate", target, "--data", far, *extra]
        else:
            target = work / f"recalibrated-{name}.{fmt}"
            args = ["recalibrate", source, "--data", far, "-o", target, *extra]
        cases[f"recalibrate-{name}-{fmt}"] = [*args, "--format", "json"]
    return cases


def _bad_data(built: Path, work: Path) -> dict[str, tuple[list, str, str]]:
    """Bad input: (arguments, the path the error line names, a phrase of the reason)."""
    (work / "empty").mkdir()
    (work / "broken").mkdir()
    (work / "broken" / "a.png").write_bytes(b"not an image at all")
    (work / "truncated" / "cls").mkdir(parents=True)
    png = next((built / "images").rglob("*.png")).read_bytes()
    (work / "truncated" / "cls" / "a.png").write_bytes(png[:40])
    arrays = {
        "rank": np.zeros((4, 8, 8), "float32"),
        "channels": np.zeros((4, 8, 8, 1), "float32"),
        "nan": np.ones((4, 8, 8, 3), "float32"),
        "inf": np.ones((4, 8, 8, 3), "float32"),
        "strings": np.array([["a"]]),
    }
    arrays["nan"][2, 1, 1, 0] = np.nan
    arrays["inf"][3, 0, 0, 2] = np.inf
    for name, array in arrays.items():
        np.save(work / f"{name}.npy", array)
    (work / "not-a-model.keras").write_text("hello")
    model = built / "nested.keras"
    probe = ["probe", model, "--data"]
    return {
        "missing": ([*probe, work / "nowhere.npy"], str(work / "nowhere.npy"), "no such file"),
        "empty-folder": ([*probe, work / "empty"], str(work / "empty"), "no images"),
        "not-an-image": ([*probe, work / "broken"], str(work / "broken" / "a.png"), "not a PNG image"),
        "truncated-image": ([*probe, work / "truncated"], str(work / "truncated" / "cls" / "a.png"), "cannot decode"),
        "rank": ([*probe, work / "rank.npy"], str(work / "rank.npy"), "(samples, height, width, channels)"),
        "channels": ([*probe, work / "channels.npy"], str(work / "channels.npy"), "has 1 channel; the model takes 3"),
        "nan": ([*probe, work / "nan.npy"], str(work / "nan.npy"), "sample 2 holds NaN or Inf"),
        "inf": (["recalibrate", model, "--data", work / "inf.npy"], str(work / "inf.npy"), "sample 3 holds NaN"),
        "strings": ([*probe, work / "strings.npy"], str(work / "strings.npy"), "not real numbers"),
        "size": (
            [*probe, built / "close.npy", "--image-size", "16", "16"],
            str(built / "close.npy"),
            "16x16 do not fit the model, which takes 8x8",
        ),
        "bad-model": (
            ["probe", work / "not-a-model.keras", "--data", built / "close.npy"],
            str(work / "not-a-model.keras"),
            "not a Keras model",
        ),
        "missing-model": (
            ["recalibrate", work / "nowhere.keras", "--data", built / "close.npy"],
            str(work / "nowhere.keras"),
            "no such file",
        ),
    }


@pytest.fixture(scope="session")
def probe_runs(tmp_path_factory):
    """{generation: {"built", "work", "runs", "bad", "checks"}}: every command line run, then
    each generation's models (originals and recalibrated) measured by Keras."""
    with ThreadPoolExecutor(2) as pool:
        built = dict(zip(GENERATIONS, pool.map(_built, GENERATIONS), strict=True))
    results = {}
    jobs = []
    for generation in GENERATIONS:
        work = tmp_path_factory.mktemp(f"probe-{generation}")
        cases = _cases(generation, built[generation], work)
        bad = _bad_data(built[generation], work) if generation == "keras3" else {}
        results[generation] = {"built": built[generation], "work": work, "cases": cases, "bad": bad}
        jobs += [(generation, "runs", name, args) for name, args in cases.items()]
        jobs += [(generation, "bad", name, args) for name, (args, _, _) in bad.items()]
    with ThreadPoolExecutor(2) as pool:
        done = list(pool.map(lambda job: _cli(*job[3]), jobs))
    for (generation, group, name, _), run in zip(jobs, done, strict=True):
        results[generation].setdefault(f"{group}-done", {})[name] = run
    with ThreadPoolExecutor(2) as pool:
        checks = dict(zip(GENERATIONS, pool.map(lambda g: _keras_checks(g, results[g]), GENERATIONS), strict=True))
    for generation in GENERATIONS:
        results[generation]["checks"] = checks[generation]
    return results


def _keras_checks(generation: str, state: dict) -> dict:
    """Keras' own measurement of each model on the data it was probed or recalibrated with."""
    built, work = state["built"], state["work"]
    jobs = {"original-close": (built / "nested.keras", built / "close.npy")}
    for name, fmt, extra in RECALIBRATIONS:
        jobs[f"original-{name}-{fmt}"] = (built / f"{name}.{fmt}", built / "far.npy")
        prefix = "inplace" if "--backup" in extra else "recalibrated"
        jobs[f"recalibrated-{name}-{fmt}"] = (work / f"{prefix}-{name}.{fmt}", built / "far.npy")
    job_file = work / "checks.json"
    job_file.write_text(json.dumps([{"model": str(m), "data": str(d)} for m, d in jobs.values()]))
    run = subprocess.run(
        [sys.executable, str(HELPER), generation, "check", str(job_file)], capture_output=True, text=True
    )
    line = next((line for line in run.stdout.splitlines() if line.startswith("PROBE-CHECK:")), None)
    assert line is not None, run.stderr[-3000:]
    return dict(zip(jobs, json.loads(line[len("PROBE-CHECK:") :]), strict=True))


def _ok(run: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert run.returncode == 0, run.stderr
    return run


def _expected_shift(layer: dict) -> tuple[float, float]:
    """The probe's two numbers, computed directly with numpy from Keras' BN inputs."""
    mean, variance = np.array(layer["mean"]), np.array(layer["variance"])
    stored_mean, stored_variance = np.array(layer["moving_mean"]), np.array(layer["moving_variance"])
    epsilon = layer["epsilon"]
    mean_shift = np.mean(np.abs(mean - stored_mean) / np.sqrt(stored_variance + epsilon))
    log_var_ratio = np.mean(np.abs(np.log((variance + epsilon) / (stored_variance + epsilon))))
    return float(mean_shift), float(log_var_ratio)


@pytest.mark.parametrize("generation", GENERATIONS)
def test_probe_statistics_equal_a_direct_computation(probe_runs, generation):
    state = probe_runs[generation]
    report = json.loads(_ok(state["runs-done"]["close"]).stdout)
    assert list(report) == ["path", "keras_version", "samples", "score", "threshold", "verdict", "layers"]
    assert report["keras_version"] == json.loads((state["built"] / "built.json").read_text())["keras_version"]
    assert report["samples"] == SAMPLES and report["threshold"] == THRESHOLD
    truth = state["checks"]["original-close"]["layers"]
    # The same paths as `bnlint inspect`, in network order (the shortcut BN runs after bn2).
    inspected = json.loads(_ok(_cli("inspect", "--format", "json", state["built"] / "nested.keras")).stdout)
    assert sorted(layer["path"] for layer in report["layers"]) == sorted(b["path"] for b in inspected["bn_layers"])
    assert [layer["path"] for layer in report["layers"]] == [
        "nested/base/bn1",
        "nested/base/bn2",
        "nested/base/bn_sc",
        "nested/bn_top",
    ]
    for layer in report["layers"]:
        assert list(layer) == ["path", "channels", "mean_shift", "log_var_ratio", "score"]
        mean_shift, log_var_ratio = _expected_shift(truth[layer["path"]])
        assert layer["channels"] == 4
        assert layer["mean_shift"] == pytest.approx(mean_shift, rel=1e-4, abs=1e-6)
        assert layer["log_var_ratio"] == pytest.approx(log_var_ratio, rel=1e-4, abs=1e-6)
        assert layer["score"] == pytest.approx(mean_shift + log_var_ratio, rel=1e-4, abs=1e-6)
    assert report["score"] == pytest.approx(np.mean([layer["score"] for layer in report["layers"]]))


@pytest.mark.parametrize("generation", GENERATIONS)
def test_training_data_is_close_and_shifted_data_far(probe_runs, generation):
    runs = probe_runs[generation]["runs-done"]
    close = json.loads(_ok(runs["close"]).stdout)
    assert close["verdict"] == "close" and close["score"] < THRESHOLD / 2
    if generation == "keras2":
        far = json.loads(_ok(runs["far"]).stdout)
        assert far["verdict"] == "far" and far["score"] > 2 * THRESHOLD
        return
    text = _ok(runs["far"])
    lines = text.stdout.strip().splitlines()
    assert "nested/base/bn_sc" in text.stdout and "mean shift" in text.stdout
    assert lines[-1].startswith("far (score ") and f"> threshold {THRESHOLD:g}, 4 of 4 BN layers above it" in lines[-1]
    assert float(lines[-1].split()[2]) > 2 * THRESHOLD
    assert lines[-1].endswith("let BN adapt: momentum 0.9 (BN002's fix), or `bnlint recalibrate`")
    assert text.stderr == ""  # no TensorFlow log lines, no progress bar off a terminal
    plot = probe_runs[generation]["work"] / "far.png"
    assert plot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and plot.stat().st_size > 5000


def test_close_verdict_says_keep_bn_frozen(probe_runs):
    """On a tf_keras SavedModel too: probe loads it; only recalibrate cannot write one."""
    text = _ok(probe_runs["keras2"]["runs-done"]["savedmodel-probe"])
    last = text.stdout.strip().splitlines()[-1]
    assert last.startswith("close (score ") and f"<= threshold {THRESHOLD:g}, 0 of 4 BN layers above it" in last
    assert last.endswith("keep BN frozen (tf_keras: `training=False`; Keras 3: BN `trainable=False`)")


def test_images_in_class_folders_read_like_the_same_array(probe_runs):
    runs = probe_runs["keras3"]["runs-done"]
    from_images, from_array = json.loads(_ok(runs["images"]).stdout), json.loads(_ok(runs["images-npy"]).stdout)
    assert from_images["samples"] == from_array["samples"] == 6
    for a, b in zip(from_images["layers"], from_array["layers"], strict=True):
        assert a["path"] == b["path"] and a["score"] == pytest.approx(b["score"], rel=1e-6)


@pytest.mark.parametrize("generation", GENERATIONS)
@pytest.mark.parametrize("name,fmt,extra", RECALIBRATIONS)
def test_recalibrated_statistics_are_the_input_statistics(probe_runs, generation, name, fmt, extra):
    state = probe_runs[generation]
    run = _ok(state["runs-done"][f"recalibrate-{name}-{fmt}"])
    after = state["checks"][f"recalibrated-{name}-{fmt}"]
    before = state["checks"][f"original-{name}-{fmt}"]
    prior = PRIOR if "--prior" in extra else 0
    samples = after["samples"]
    for path, layer in after["layers"].items():
        # Keras' BN inputs on the recalibrated model: every earlier layer is recalibrated too.
        weight = prior / (prior + samples)
        stored = before["layers"][path]
        for key, measured in (("moving_mean", "mean"), ("moving_variance", "variance")):
            expected = weight * np.array(stored[key]) + (1 - weight) * np.array(layer[measured])
            np.testing.assert_allclose(layer[key], expected, rtol=2e-5, atol=1e-6, err_msg=f"{path} {key}")
    changed = {key for key in before["variables"] if before["variables"][key] != after["variables"].get(key)}
    assert set(after["variables"]) == set(before["variables"])
    assert changed == {f"{path}:{var}" for path in after["layers"] for var in ("moving_mean", "moving_variance")}
    if "--backup" in extra:
        source, target = state["built"] / f"{name}.{fmt}", state["work"] / f"inplace-{name}.{fmt}"
        assert Path(f"{target}.bak").read_bytes() == source.read_bytes()
    report = json.loads(run.stdout)
    assert list(report) == ["path", "output", "keras_version", "samples", "prior", "passes", "layers"]
    assert report["samples"] == SAMPLES and report["prior"] == prior
    assert report["passes"] == 3  # bn1 and bn_sc together, then bn2, then bn_top
    # Reported in network order (the order of the first calls).
    assert [layer["path"] for layer in report["layers"]] == [
        f"{name}/base/bn1",
        f"{name}/base/bn2",
        f"{name}/base/bn_sc",
        f"{name}/bn_top",
    ]
    assert report["layers"][0]["score_before"] > 1  # bn1 sees the far data itself
    if not prior:
        assert all(layer["score_after"] < 1e-5 for layer in report["layers"])


def test_a_bn_layer_called_twice_is_recalibrated_in_call_order(probe_runs):
    """No stages then (the layer's second input depends on its own statistics): one eager
    pass per BN layer; the last layer's statistics are exact on the recalibrated model."""
    state = probe_runs["keras3"]
    report = json.loads(_ok(state["runs-done"]["shared"]).stdout)
    assert report["passes"] == 2 and [layer["path"] for layer in report["layers"]] == [
        "shared/shared_bn",
        "shared/last",
    ]
    after = _cli("probe", state["work"] / "shared.keras", "--data", state["built"] / "far.npy", "--format", "json")
    scores = {layer["path"]: layer["score"] for layer in json.loads(_ok(after).stdout)["layers"]}
    assert scores["shared/last"] < 1e-5 and scores["shared/shared_bn"] < report["layers"][0]["score_before"]


def test_savedmodel_and_code_are_refused(probe_runs):
    refused = probe_runs["keras2"]["runs-done"]["savedmodel-recalibrate"]
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.count("\n") == 1 and "a SavedModel cannot be recalibrated" in refused.stderr
    runs = probe_runs["keras3"]["runs-done"]
    assert runs["lambda"].returncode == 2 and "pass --trust-model-code" in runs["lambda"].stderr
    assert runs["lambda"].stderr.count("\n") == 1
    # Trusted, it is loaded, but Keras' safe mode still refuses the Lambda's bytecode.
    trusted = runs["lambda-trusted"]
    assert trusted.returncode == 2 and trusted.stderr.count("\n") == 1
    assert "Keras cannot load the model" in trusted.stderr and "Traceback" not in trusted.stderr


def test_broken_statistics_are_far_and_recalibration_repairs_them(probe_runs):
    state = probe_runs["keras3"]
    report = json.loads(_ok(state["runs-done"]["broken"]).stdout)  # strict JSON: no NaN
    [broken] = [layer for layer in report["layers"] if layer["path"] == "nested/base/bn2"]
    assert broken["score"] is None and report["score"] is None and report["verdict"] == "far"
    _ok(state["runs-done"]["broken-recalibrate"])
    fixed = json.loads(_ok(_cli("inspect", "--format", "json", state["work"] / "fixed.keras")).stdout)
    [statistics] = [layer["statistics"] for layer in fixed["bn_layers"] if layer["path"] == "nested/base/bn2"]
    assert all(np.isfinite(statistics["moving_mean"])) and statistics["moving_variance"][0] > 0


def test_plot_without_matplotlib_is_one_line(tmp_path):
    code = "import sys; sys.modules['matplotlib'] = None; from bnlint.cli import run; run()"
    args = ["probe", "m.keras", "--data", "d.npy", "--plot", str(tmp_path / "p.png")]
    run = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 2 and run.stderr.count("\n") == 1
    assert run.stderr == "m.keras: error: --plot needs matplotlib, which is not installed: pip install 'bnlint[plot]'\n"


def test_bad_input_is_one_line_and_exit_2(probe_runs):
    state = probe_runs["keras3"]
    for name, (_, path, reason) in state["bad"].items():
        run = state["bad-done"][name]
        assert run.returncode == 2, (name, run.stdout, run.stderr)
        assert run.stderr.count("\n") == 1 and run.stdout == "", (name, run.stderr)
        assert run.stderr.startswith(f"{path}: error: ") and reason in run.stderr, (name, run.stderr)


def _datasets(path: Path) -> dict[str, bytes]:
    """Every HDF5 dataset of a .h5 model, or of a .keras archive's model.weights.h5, as bytes."""
    import zipfile

    import h5py

    if path.suffix == ".keras":
        inner = path.with_suffix(".weights.h5")
        inner.write_bytes(zipfile.ZipFile(path).read("model.weights.h5"))
        path = inner
    found = {}
    with h5py.File(path, "r") as h5:
        h5.visititems(
            lambda name, item: found.update({name: item[()].tobytes()} if isinstance(item, h5py.Dataset) else {})
        )
    return found


@pytest.mark.parametrize("fmt", ["keras", "h5"])
def test_values_edit_writes_those_two_arrays_only(tmp_path, fmt):
    """The writer's explicit-values spec, without Keras: cast to the stored dtype, every
    other dataset byte-identical, a wrong number of values refused."""
    from bnlint.diagnostics import Edit
    from bnlint.edits import Unsupported
    from bnlint.writers import open_model
    from bnlint.writers.weight_ops import describe

    source = _built("keras3") / f"nested.{fmt}"
    values = np.array([0.5, 1.5, 2.5, 3.5])  # float64: stored as float32
    edits = [Edit("weights", "nested/base/bn2", key, new={"values": values * (i + 1)}) for i, key in enumerate(STATS)]
    assert describe(edits[0]).describe() == "nested/base/bn2: moving_mean: stored -> 4 new values"
    target = tmp_path / f"out.{fmt}"
    open_model(str(source), fmt).save(str(target), edits)
    before, after = _datasets(source), _datasets(target)
    changed = sorted(name for name in before if before[name] != after[name])
    assert set(before) == set(after) and len(changed) == 2
    assert sorted(np.frombuffer(after[name], np.float32).tolist() for name in changed) == [
        [0.5, 1.5, 2.5, 3.5],
        [1.0, 3.0, 5.0, 7.0],
    ]
    wrong = [Edit("weights", "nested/base/bn2", "moving_mean", new={"values": np.zeros(3)})]
    with pytest.raises(Unsupported, match="3 values for 'nested/base/bn2' moving_mean, which holds 4"):
        open_model(str(source), fmt).save(str(tmp_path / f"wrong.{fmt}"), wrong)


def test_a_keras_2_2_file_is_probed_and_recalibrated_with_tf_keras(tmp_path):
    """Public .h5 files are often from multi-backend Keras 2.2: tf_keras loads and runs them.
    The file's conv kernel is zero, so the BN input is exactly 0: the expected numbers are known."""
    import legacy_files as legacy

    original = legacy.write(tmp_path / "old.h5", legacy.frozen_base_model(), "2.2.4", legacy.base_weights())
    model = shutil.copy(original, tmp_path / "recalibrated.h5")
    data = tmp_path / "data.npy"
    np.save(data, np.random.default_rng(0).normal(size=(12, 8, 8, 3)).astype("float32"))
    probed = _ok(_cli("probe", original, "--data", data, "--format", "json"))
    [layer] = json.loads(probed.stdout)["layers"]
    mean, variance = legacy.bn_arrays()[2:]
    epsilon = legacy.bn_config("bn1")["epsilon"]
    assert layer["path"].endswith("base/bn1")
    assert layer["mean_shift"] == pytest.approx(np.mean(mean / np.sqrt(variance + epsilon)), rel=1e-6)
    assert layer["log_var_ratio"] == pytest.approx(np.mean(np.abs(np.log(epsilon / (variance + epsilon)))), rel=1e-6)
    _ok(_cli("recalibrate", model, "--data", data))
    before, after = _datasets(original), _datasets(model)
    assert {name for name in before if before[name] != after[name]} == {
        name for name in before if name.endswith(("moving_mean:0", "moving_variance:0"))
    }
    assert json.loads(_ok(_cli("probe", model, "--data", data, "--format", "json")).stdout)["score"] == 0.0


@pytest.mark.parametrize("generation", GENERATIONS)
def test_a_model_on_tabular_features_takes_an_array_of_its_sample_shape(probe_runs, generation, tmp_path):
    """BN on features, not images (real public models do this): the array is fed as it is."""
    built = probe_runs[generation]["built"]
    data = built / "tabular.npy"
    [layer] = json.loads(_ok(_cli("probe", built / "tabular.keras", "--data", data, "--format", "json")).stdout)[
        "layers"
    ]
    x = np.load(data).astype(np.float64)
    assert layer["mean_shift"] == pytest.approx(np.mean(np.abs(x.mean(0) - 0.5) / np.sqrt(2.0 + 1e-3)), rel=1e-6)
    assert layer["log_var_ratio"] == pytest.approx(np.mean(np.abs(np.log((x.var(0) + 1e-3) / 2.001))), rel=1e-6)
    recalibrated = tmp_path / "tabular.keras"
    _ok(_cli("recalibrate", built / "tabular.keras", "--data", data, "-o", recalibrated))
    again = json.loads(_ok(_cli("probe", recalibrated, "--data", data, "--format", "json")).stdout)
    assert again["score"] < 1e-6 and again["verdict"] == "close"
    wrong = _cli("probe", built / "tabular.keras", "--data", built / "close.npy")
    assert wrong.returncode == 2 and wrong.stderr.count("\n") == 1 and "the model takes (6,)" in wrong.stderr
