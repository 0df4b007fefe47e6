"""bnlint.keras.BNLintCallback in real fit() runs of Keras 3 and tf_keras: the BN updates it
measures after the first step equal what bnlint.semantics predicts for every family of
transfer-learning setups, fail_on stops fit() before any step, the drift figures equal a
direct computation from the variables, and findings arrive as warnings, log records and the
report. Each generation runs in a subprocess of its own (the test process stays free of
TensorFlow)."""

from __future__ import annotations

import json

import pytest

from keras_harness import run_in_keras

# Each family builds `model` (compiled) and says how to fit it; the harness fits it with the
# callback and records what the callback measured, plus a direct computation of the drift.
FAMILIES = {
    "frozen base, no training=False": """
base = make_base(); base.trainable = False
inp = keras.Input((8, 8, 3)); model = keras.Model(inp, head(base(inp)))
""",
    "frozen base, training=False": """
base = make_base(); base.trainable = False
inp = keras.Input((8, 8, 3)); model = keras.Model(inp, head(base(inp, training=False)))
""",
    "unfrozen base": """
base = make_base()
inp = keras.Input((8, 8, 3)); model = keras.Model(inp, head(base(inp)))
""",
    "unfrozen base, training=False": """
base = make_base()
inp = keras.Input((8, 8, 3)); model = keras.Model(inp, head(base(inp, training=False)))
""",
    "frozen base, BN set back to trainable": """
base = make_base(); base.trainable = False
base.get_layer("bn2").trainable = True
inp = keras.Input((8, 8, 3)); model = keras.Model(inp, head(base(inp)))
""",
    "BN frozen inside an unfrozen base": """
base = make_base()
for layer in base.layers:
    if isinstance(layer, layers.BatchNormalization):
        layer.trainable = False
inp = keras.Input((8, 8, 3)); model = keras.Model(inp, head(base(inp)))
""",
    "GAN: discriminator frozen after its compile": """
d_in = keras.Input((8, 8, 3))
x = layers.Conv2D(4, 3, padding="same")(d_in)
x = layers.BatchNormalization(name="d_bn")(x)
model = keras.Model(d_in, layers.Dense(1)(layers.GlobalAveragePooling2D()(x)), name="discriminator")
model.compile("sgd", "mse")
model.trainable = False
z = keras.Input((4,))
fake = layers.Reshape((8, 8, 3))(layers.Dense(192)(z))
gan = keras.Model(z, model(fake)); gan.compile("sgd", "mse")
Y = np.zeros((64, 1), "float32")
""",
}

HARNESS = r"""
import json, logging, os, sys, warnings
sys.path.insert(0, os.environ["BNLINT_TESTS"])
import keras_factory as factory
import bnlint
from bnlint.keras import BNLintCallback
keras, layers, np = factory.keras, factory.layers, factory.np
families = json.loads(sys.argv[2])

def head(x):
    return layers.Dense(2)(layers.GlobalAveragePooling2D()(x))

bn_layers = factory.bn_layers
records = []
logging.getLogger("bnlint").setLevel(logging.INFO)  # info findings (BN008) are logged at INFO
logging.getLogger("bnlint").addHandler(type("H", (logging.Handler,), {"emit": lambda self, r: records.append(r)})())
X = np.random.default_rng(0).normal(5, 3, (64, 8, 8, 3)).astype("float32")
out = {}
for name, code in families.items():
    keras.utils.set_random_seed(0)
    scope = {"keras": keras, "layers": layers, "np": np, "make_base": factory.make_base, "head": head,
             "Y": np.zeros((64, 2), "float32")}
    exec(code, scope)
    model, Y = scope["model"], scope["Y"]
    if not getattr(model, "optimizer", None):
        model.compile("sgd", "mse")
    before = {id(bn): (bn.moving_mean.numpy().copy(), bn.moving_variance.numpy().copy()) for bn in bn_layers(model)}
    callback = BNLintCallback(batch_size=16, verbose=0)
    records.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, Y, epochs=2, batch_size=16, verbose=0, callbacks=[callback])
    # The drift, computed directly: per pretrained BN layer, moved mean in stored standard
    # deviations and the log variance ratio; the fraction left m^steps for a layer that moved.
    direct = []
    for bn in bn_layers(model):
        m0, v0 = (a.astype("float64") for a in before[id(bn)])
        m1, v1 = bn.moving_mean.numpy().astype("float64"), bn.moving_variance.numpy().astype("float64")
        if (m0 == 0).all() and (v0 == 1).all():
            continue
        moved = not (np.array_equal(m0, m1) and np.array_equal(v0, v1))
        direct.append({
            "shift": float(np.mean(np.abs(m1 - m0) / np.sqrt(v0 + bn.epsilon))),
            "ratio": float(np.mean(np.abs(np.log((v1 + bn.epsilon) / (v0 + bn.epsilon))))),
            "left": float(bn.momentum) ** 8 if moved else 1.0,
            "moved": moved,
        })
    out[name] = {
        "measured": callback.measured,
        "drift": callback.drift,
        "direct": direct,
        "codes": sorted(d["code"] for d in callback.report["files"][0]["diagnostics"]),
        "check": sorted(d["code"] for d in bnlint.check(model, batch_size=16, epochs=2, steps=8)["files"][0]["diagnostics"]),
        "warned": sorted({str(w.message).split()[0] for w in caught if issubclass(w.category, bnlint.BNLintWarning)}),
        "warned_at": sorted({os.path.basename(w.filename) for w in caught if issubclass(w.category, bnlint.BNLintWarning)}),
        "logged": sorted({r.getMessage().split()[0] for r in records if r.getMessage().startswith("BN")}),
        "drift_logged": [r.getMessage() for r in records if r.getMessage().startswith("drift")],
    }
    keras.backend.clear_session()

# fail_on: the run stops before its first step, nothing trained.
base = factory.make_base()
inp = keras.Input((8, 8, 3)); model = keras.Model(inp, head(base(inp))); model.compile("sgd", "mse")
steps = []
spy = keras.callbacks.LambdaCallback(on_train_batch_begin=lambda batch, logs: steps.append(batch))
start = [w.numpy().copy() for w in model.weights]
try:
    model.fit(X, np.zeros((64, 2), "float32"), epochs=1, batch_size=16, verbose=0,
              callbacks=[BNLintCallback(fail_on="warning", verbose=0), spy])
    stopped = None
except bnlint.BNLintError as exc:
    stopped = {"message": str(exc), "codes": sorted(d["code"] for d in exc.report["files"][0]["diagnostics"])}
unchanged = all(np.array_equal(a, w.numpy()) for a, w in zip(start, model.weights))
# fail_on="error" lets the same (warning-only) run go on.
model.fit(X, np.zeros((64, 2), "float32"), epochs=1, batch_size=16, verbose=0,
          callbacks=[BNLintCallback(fail_on="error", verbose=0), spy])
out["fail_on"] = {"stopped": stopped, "steps_before": 0, "unchanged": unchanged, "steps_after": len(steps)}

# A trainable change after a fit() without compile(): Keras 3 reuses the traced train function.
base = factory.make_base(); base.trainable = False
inp = keras.Input((8, 8, 3)); model = keras.Model(inp, head(base(inp))); model.compile("sgd", "mse")
model.fit(X, np.zeros((64, 2), "float32"), epochs=1, batch_size=16, verbose=0)
base.trainable = True
callback = BNLintCallback(verbose=0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    model.fit(X, np.zeros((64, 2), "float32"), epochs=1, batch_size=16, verbose=0, callbacks=[callback])
out["stale"] = {"measured": callback.measured,
                "findings": [(d["code"], d["severity"], d["message"], d["detail"]) for d in callback.report["files"][0]["diagnostics"]]}

# Statistics poisoned during the run (as a diverging loss leaves them): BN006 at the end.
base = factory.make_base()
inp = keras.Input((8, 8, 3)); model = keras.Model(inp, head(base(inp))); model.compile("sgd", "mse")
poison = keras.callbacks.LambdaCallback(
    on_train_batch_end=lambda batch, logs: base.get_layer("bn2").moving_variance.assign(np.full((4,), np.nan, "float32")))
callback = BNLintCallback(verbose=0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    model.fit(X, np.zeros((64, 2), "float32"), epochs=1, batch_size=16, verbose=0, callbacks=[callback, poison])
out["poisoned"] = [(d["code"], d["layer"], d["message"]) for d in callback.report["files"][0]["diagnostics"] if d["code"] == "BN006"]
print(json.dumps(out))
"""


@pytest.fixture(scope="module", params=["keras3", "keras2"])
def runs(request):
    return request.param, run_in_keras(HARNESS, request.param, json.dumps(FAMILIES))


# What each family's BN layers do in fit(), per generation (keras-formats.md §4): the
# callback's measurement must show this, and bnlint's prediction must agree with it.
EXPECTED_UPDATES = {
    "frozen base, no training=False": {"keras3": [False, False], "keras2": [False, False]},
    "frozen base, training=False": {"keras3": [False, False], "keras2": [False, False]},
    "unfrozen base": {"keras3": [True, True], "keras2": [True, True]},
    "unfrozen base, training=False": {"keras3": [True, True], "keras2": [False, False]},
    "frozen base, BN set back to trainable": {"keras3": [False, True], "keras2": [False, True]},
    "BN frozen inside an unfrozen base": {"keras3": [False, False], "keras2": [False, False]},
    "GAN: discriminator frozen after its compile": {"keras3": [False], "keras2": [True]},
}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_measured_updates_equal_the_prediction(runs, family):
    generation, results = runs
    measured = results[family]["measured"]
    assert [m["updated"] for m in measured] == EXPECTED_UPDATES[family][generation], measured
    assert all(m["predicted_trains"] == m["updated"] for m in measured), measured
    assert "BN900" not in results[family]["codes"]


@pytest.mark.parametrize("family", list(FAMILIES))
def test_the_report_is_what_check_finds_and_every_finding_is_warned_and_logged(runs, family):
    generation, results = runs
    result = results[family]
    # (tf_keras' GAN discriminator, frozen after its compile, trains in its own fit(): the
    # callback sees it there, and bnlint.check reads the flags of compile() that fit() restores.)
    assert result["codes"] == result["check"]
    if family.startswith("GAN"):
        assert ("BN002" in result["codes"]) is (generation == "keras2")
    assert result["warned"] == result["logged"] == sorted(set(result["codes"]))
    if result["warned"]:
        assert result["warned_at"] == ["<string>"]  # the line that called fit(), not Keras' internals
    assert "BN001" in results["frozen base, no training=False"]["codes"]
    assert "BN014" in results["unfrozen base"]["codes"]


@pytest.mark.parametrize("family", list(FAMILIES))
def test_drift_equals_a_direct_computation(runs, family):
    _, results = runs
    drift, direct = results[family]["drift"], results[family]["direct"]
    if not direct:
        assert drift == []  # nothing pretrained (the GAN's discriminator starts from scratch)
        return
    [entry] = drift
    assert results[family]["drift_logged"] == [
        f"drift of the pretrained BN statistics in '{entry['base']}'"
        + results[family]["drift_logged"][0].split("'", 2)[2]
    ]
    assert entry["steps"] == 8 and entry["bn_layers"] == len(direct)
    assert entry["updated"] == sum(d["moved"] for d in direct)
    assert entry["mean_shift"] == pytest.approx(sum(d["shift"] for d in direct) / len(direct), rel=1e-9)
    assert entry["log_var_ratio"] == pytest.approx(sum(d["ratio"] for d in direct) / len(direct), rel=1e-9)
    assert entry["left"] == pytest.approx(sum(d["left"] for d in direct) / len(direct), rel=1e-12)
    if entry["updated"]:
        assert entry["mean_shift"] > 0 and entry["left"] < 1


def test_fail_on_stops_fit_before_the_first_step(runs):
    _, results = runs
    fail = results["fail_on"]
    assert fail["stopped"] is not None and "before the first step" in fail["stopped"]["message"]
    assert "BN014" in fail["stopped"]["codes"]
    assert fail["unchanged"]  # no weight, no statistic moved
    assert fail["steps_after"] == 4  # only the fail_on="error" run took steps


def test_a_trainable_change_the_train_function_ignores_is_reported(runs):
    generation, results = runs
    stale = results["stale"]
    if generation == "keras3":  # the train function traced in the first fit() still freezes the base
        assert [m["updated"] for m in stale["measured"]] == [False, False]
        [(code, severity, message, detail)] = [f for f in stale["findings"] if f[0] == "BN900"]
        assert severity == "warning" and "did not update" in message and "compiled again" in detail
    else:  # tf_keras restores the trainable state of compile(): frozen, as bnlint predicts
        assert all(m["predicted_trains"] == m["updated"] is False for m in stale["measured"])
        assert not [f for f in stale["findings"] if f[0] == "BN900"]


def test_statistics_broken_during_the_run_are_reported_at_its_end(runs):
    _, results = runs
    [(code, layer, message)] = results["poisoned"]
    assert layer.endswith("base/bn2") and message.startswith("after training: ")
