"""bnlint.check(model) on live models: every model-rule example, built by the real Keras 3
and tf_keras, gets the same findings on the same layers as linting the `.keras` file it is
saved to. Each generation runs in a subprocess of its own (its Keras imported there,
never in the test process, whose lint path must stay free of TensorFlow)."""

from __future__ import annotations

import json

import pytest

from bnlint.rules import RULES

from keras_harness import run_in_keras
from recipes import RECIPES

# Builds each example with its Keras (the recipe code the fixtures run), checks the live model,
# saves it as .keras and lints the file.
HARNESS = """
import json, os, sys, tempfile
sys.path.insert(0, os.environ["BNLINT_TESTS"])
import keras_factory as factory
import bnlint
out = []
for code, context in json.loads(sys.argv[2]):
    scope = {"keras": factory.keras, "layers": factory.layers, "np": factory.np,
             "make_base": factory.make_base, "pretend_pretrained": factory.pretend_pretrained}
    exec(code, scope)
    model = scope["model"]
    report = bnlint.check(model, **context)
    assert isinstance(report, dict) and set(json.loads(json.dumps(report))) == {"version", "files"}  # lint()'s document
    live = report["files"][0]
    path = os.path.join(tempfile.mkdtemp(), "model.keras")
    model.save(path)
    saved = bnlint.lint(path, **context)["files"][0]
    table = report._repr_html_()  # what Jupyter shows
    shown = [d["code"] in table and d["severity"] in table for d in live["diagnostics"]]
    out.append({"table": all(shown) if shown else "No BatchNormalization problems found" in table,
                "code": code, "name": live["path"], "error": live["error"], "keras": live["keras_version"],
                "live": sorted((d["code"], d["layer"], d["severity"]) for d in live["diagnostics"]),
                "saved": sorted((d["code"], d["layer"], d["severity"]) for d in saved["diagnostics"])})
    factory.keras.backend.clear_session()
print(json.dumps(out))
"""


@pytest.mark.parametrize("generation", ["keras3", "keras2"])
def test_check_of_a_live_model_agrees_with_linting_its_file(generation):
    cases = [
        (example.code, example.context)
        for rule in RULES.values()
        if rule.code != "BN013"  # models that hold code: saving a Lambda is not what this is about
        for index, example in enumerate(rule.examples)
        if example.kind == "model" and "keras" in RECIPES[f"{rule.code}-{index}"].formats
    ]
    results = run_in_keras(HARNESS, generation, json.dumps(cases))
    assert len(results) == len(cases) > 20
    fired = 0
    for result in results:
        assert result["error"] is None, result
        assert result["live"] == result["saved"], result["code"]
        assert result["table"], result["code"]
        fired += bool(result["live"])
    assert fired > 15  # the comparison covers real findings, not only clean models
    assert {r["keras"][0] for r in results} == {"3" if generation == "keras3" else "2"}


# A base unfrozen after compile() and trained without compiling again: tf_keras' fit() runs the
# flags of compile() (frozen); Keras 3, before its first fit(), takes the change (trains).
AFTER_COMPILE = """
import json, os, sys, warnings
sys.path.insert(0, os.environ["BNLINT_TESTS"])
import keras_factory as factory
import bnlint
from bnlint.keras import BNLintCallback
keras, layers, np = factory.keras, factory.layers, factory.np
base = factory.make_base(); base.trainable = False
inp = keras.Input((8, 8, 3))
model = keras.Model(inp, layers.Dense(2)(layers.GlobalAveragePooling2D()(base(inp))))
model.compile("sgd", "mse")
base.trainable = True
report = bnlint.check(model, batch_size=16, steps=8)
callback = BNLintCallback(batch_size=16, verbose=0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    model.fit(np.ones((32, 8, 8, 3), "float32"), np.zeros((32, 2), "float32"), batch_size=16, epochs=1,
              verbose=0, callbacks=[callback])
print(json.dumps({"findings": [(d["code"], d["layer"], d["severity"], d["message"]) for d in report["files"][0]["diagnostics"]],
                  "updated": [m["updated"] for m in callback.measured]}))
"""


@pytest.mark.parametrize("generation", ["keras3", "keras2"])
def test_check_sees_the_trainable_flags_fit_will_run(generation):
    result = run_in_keras(AFTER_COMPILE, generation)
    codes = {code for code, *_ in result["findings"]}
    if generation == "keras2":
        assert result["updated"] == [False, False]  # fit() ran the base frozen, as compiled
        [(code, layer, severity, message)] = [f for f in result["findings"] if f[0] == "BN004"]
        assert layer.endswith("/base") and severity == "error"
        assert "set trainable=True after compile()" in message and "trainable=False" in message
        assert "BN014" not in codes  # its BN layers do not train in that fit()
    else:
        assert result["updated"] == [True, True]  # Keras 3 took the change at the first fit()
        assert "BN004" not in codes and "BN014" in codes


# keras.applications bases as users fine-tune them (pretrained statistics, unfrozen, called with
# training=False): tf_keras DenseNet's layer names hold '/', NASNet nests cells, EfficientNet has a
# Normalization layer; the live graph must be the saved file's graph for each.
APPLICATIONS = """
import json, os, sys, tempfile, warnings
sys.path.insert(0, os.environ["BNLINT_TESTS"])
import keras_factory as factory
import bnlint
keras, layers = factory.keras, factory.layers
warnings.simplefilter("ignore")
out = {}
for name in ("ResNet50", "DenseNet121", "NASNetMobile", "EfficientNetB0"):
    base = getattr(keras.applications, name)(weights=None, include_top=False, input_shape=(64, 64, 3), pooling="avg")
    factory.pretend_pretrained(base)
    inp = keras.Input((64, 64, 3))
    model = keras.Model(inp, layers.Dense(3)(base(inp, training=False)))
    model.compile("adam", "mse")
    live = bnlint.check(model, batch_size=8)["files"][0]
    path = os.path.join(tempfile.mkdtemp(), "model.keras")
    model.save(path)
    saved = bnlint.lint(path, batch_size=8)["files"][0]
    out[name] = [sorted((d["code"], d["layer"], d["message"]) for d in r["diagnostics"]) + [r["error"], r.get("notes")]
                 for r in (live, saved)]
    keras.backend.clear_session()
print(json.dumps(out))
"""


@pytest.mark.parametrize("generation", ["keras3", "keras2"])
def test_check_of_keras_applications_agrees_with_their_files(generation):
    results = run_in_keras(APPLICATIONS, generation)
    assert len(results) == 4
    for name, (live, saved) in results.items():
        assert live == saved, name
        assert live[-2:] == [None, None], name  # no error, nothing left unchecked
    if generation == "keras3":  # fit() ignores training=False: every base's BN layers train
        assert all(any(finding[0] == "BN012" for finding in live[:-2]) for live, _ in results.values())
