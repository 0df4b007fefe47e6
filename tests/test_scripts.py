"""Training scripts linted as source: realistic scripts under tests/scripts/ say where
each finding must be with a trailing `# expect: BN014` (both generations) or
`# expect[keras3]: BN004` (one generation); every other line must stay silent. Each
script is linted as Keras 3 and as Keras 2 (--keras-version), and every script
example of every rule fires exactly where it says."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from findings import said

import bnlint
from bnlint.rules import RULES

SCRIPTS = Path(__file__).with_name("scripts")
EXPECT = re.compile(r"#\s*expect(?:\[(keras3|keras2)\])?:\s*([A-Z0-9, ]+)")
VERSIONS = {"keras3": "3", "keras2": "2"}


def expected(path: Path, generation: str) -> set[tuple[int, str]]:
    found = set()
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        for match in EXPECT.finditer(line):
            if match[1] in (None, generation):
                found.update((number, code.strip()) for code in match[2].split(",") if code.strip())
    return found


def findings(path: Path, **options) -> list[dict]:
    [result] = bnlint.lint(str(path), **options)["files"]
    assert result["error"] is None, result["error"]
    return result["diagnostics"]


# tests/scripts: realistic scripts; tests/scripts/idioms: one family of real-code idioms
# each (constructor spellings, helpers, settings, freezing, wiring, training forms).
ANNOTATED = sorted(str(p.relative_to(SCRIPTS)) for p in [*SCRIPTS.glob("*.py"), *SCRIPTS.glob("idioms/*.py")])


@pytest.mark.parametrize("generation", sorted(VERSIONS))
@pytest.mark.parametrize("script", ANNOTATED)
def test_script_findings_are_exactly_where_expected(script, generation):
    path = SCRIPTS / script
    got = {(d["line"], d["code"]) for d in findings(path, keras_version=VERSIONS[generation])}
    assert got == expected(path, generation)


SCRIPT_EXAMPLES = [
    pytest.param(rule.code, index, generation, id=f"{rule.code}-{index}-{generation}")
    for rule in RULES.values()
    for index, example in enumerate(rule.examples)
    if example.kind == "script"
    for generation in sorted(VERSIONS)
]


@pytest.mark.parametrize("code, index, generation", SCRIPT_EXAMPLES)
def test_rule_script_examples(tmp_path, code, index, generation):
    example = RULES[code].examples[index]
    path = tmp_path / "train.py"
    path.write_text(example.code)
    codes = [d["code"] for d in findings(path, keras_version=VERSIONS[generation], **example.context)]
    if generation in example.fires_on:
        assert code in codes, f"{example.title!r} should fire {code} on {generation}; got {codes}"
    else:
        assert code not in codes, f"{example.title!r} must not fire {code} on {generation}; got {codes}"


def test_every_script_rule_has_firing_and_silent_script_examples():
    for rule in RULES.values():
        scripts = [e for e in rule.examples if e.kind == "script"]
        if rule.check_script is None:
            continue
        assert any(e.fires_on for e in scripts), f"{rule.code} has no script example that fires"
        assert any(not e.fires_on for e in scripts), f"{rule.code} has no silent script example"


def test_canonical_guide_is_silent_with_the_installed_keras():
    """Keras' own transfer-learning recipe, with no --keras-version: nothing to report."""
    assert findings(SCRIPTS / "guide_keras3.py") == []


def test_findings_carry_line_column_and_a_concrete_message():
    [finding] = findings(SCRIPTS / "flat_resnet_top20.py", keras_version="3")
    assert (finding["line"], finding["column"], finding["cell"]) == (30, 5, None)
    assert "model.layers[-20:]" in said(finding) and "ResNet50" in said(finding)
    assert "5 of the 53 BN layers" in said(finding)  # the exact BN layers in the last 20 layers


GUIDE_WITHOUT_BN_FREEZE = """
import {module} as keras

base = keras.applications.Xception(weights="imagenet", input_shape=(150, 150, 3), include_top=False)
base.trainable = False
inputs = keras.Input((150, 150, 3))
x = base(inputs, training=False)
model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.GlobalAveragePooling2D()(x)))
model.compile(keras.optimizers.Adam(), "binary_crossentropy")
model.fit(train_ds, epochs=20)
base.trainable = True
model.compile(keras.optimizers.Adam(1e-5), "binary_crossentropy")
model.fit(train_ds, epochs=10)
"""


@pytest.mark.parametrize(
    "module, prelude, codes",
    [
        ("keras", "", ["BN012"]),  # Keras 3 installed
        ("tf_keras", "", []),  # Keras 2 honours training=False
        ("tensorflow.keras", "", ["BN012"]),  # TF 2.21: tf.keras is Keras 3
        ("tensorflow.keras", "import os\nos.environ['TF_USE_LEGACY_KERAS'] = '1'\n", []),
        ("tensorflow.keras", "import os\nos.environ.setdefault('TF_USE_LEGACY_KERAS', '1')\n", []),
    ],
)
def test_generation_comes_from_imports_and_installed_versions(tmp_path, module, prelude, codes):
    path = tmp_path / "train.py"
    path.write_text(prelude + GUIDE_WITHOUT_BN_FREEZE.format(module=module))
    assert [d["code"] for d in findings(path)] == codes


def test_legacy_keras_environment_variable(tmp_path, monkeypatch):
    path = tmp_path / "train.py"
    path.write_text(GUIDE_WITHOUT_BN_FREEZE.format(module="tensorflow.keras"))
    monkeypatch.setenv("TF_USE_LEGACY_KERAS", "1")
    assert findings(path) == []


def test_keras_version_from_pyproject(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.bnlint]\nkeras-version = "2.15"\n')
    path = tmp_path / "train.py"
    path.write_text(GUIDE_WITHOUT_BN_FREEZE.format(module="keras"))
    assert findings(path) == []
    assert [d["code"] for d in findings(path, keras_version="3")] == ["BN012"]  # the option wins


def test_context_options_complete_the_script(tmp_path):
    """No horizon in the script: BN002 stays silent until --steps says the run is short."""
    path = tmp_path / "train.py"
    path.write_text(
        "import keras\nfrom keras import layers\n"
        "model = keras.Sequential([keras.Input((8,)), layers.Dense(4, use_bias=False), layers.BatchNormalization()])\n"
        "model.compile('adam', 'mse')\nmodel.fit(train_ds, epochs=2)\n"
    )
    assert findings(path) == []
    [finding] = findings(path, steps=60)
    assert finding["code"] == "BN002" and finding["line"] == 3 and "0.99^60" in said(finding)


def test_unresolved_base_is_not_guessed_but_noted():
    [result] = bnlint.lint(str(SCRIPTS / "unresolved_base.py"), keras_version="3")["files"]
    assert result["diagnostics"] == []
    assert result["notes"] == [
        "line 10: `base.trainable` is set on an object bnlint cannot resolve; bases it may belong to are not judged"
    ]


def test_bn004_fix_inserts_the_same_compile_call():
    [finding] = findings(SCRIPTS / "unfreeze_without_recompile.py", keras_version="2")
    fix = finding["fix"]
    assert fix["applicability"] == "unsafe"
    [edit] = fix["edits"]
    # After the last trainable change before the training (line 21, in the BN freeze loop that
    # follows the unfreeze): the compile must see the flags the training runs with.
    assert (edit["kind"], edit["target"], edit["key"]) == ("text", "21", "insert-statement")
    assert edit["new"] == 'model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")'


LIMITED = (
    "import resource, sys, bnlint.cli; resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30)); bnlint.cli.run()"
)


def test_dense_blocks_are_followed_in_bounded_memory():
    """A graph whose blocks feed every later concatenation has paths that double with each
    block: a tensor's history must hold each layer once (a real 21 KB notebook of this shape
    took 3 GB before). Linted under a 1 GB address-space limit, as a CI runner might impose."""
    command = [sys.executable, "-c", LIMITED, "--format", "json", str(SCRIPTS / "dense_blocks.py")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    [result] = json.loads(done.stdout)["files"]
    assert result["error"] is None
    assert {d["code"] for d in result["diagnostics"]} == {"BN003", "BN008"}
