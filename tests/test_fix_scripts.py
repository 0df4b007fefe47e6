"""--fix and --diff on scripts: exact before/after text, everything else byte for byte (CRLF,
tabs, comments, a missing final newline), idempotent, checked before it is written."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import bnlint

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "scripts" / "finetune_xception.py"
NOTEBOOK = ROOT / "examples" / "notebooks" / "histology_resnet50.ipynb"

# tf_keras era: a frozen base called without training=False (BN001); CRLF and tab indentation.
CALL = (
    "import tensorflow as tf\r\n"
    "from tensorflow import keras\r\n"
    "\r\n"
    "def build():\r\n"
    '\tbase = keras.applications.ResNet50(include_top=False, weights="imagenet")\r\n'
    "\tbase.trainable = False\r\n"
    "\tinputs = keras.Input((224, 224, 3))\r\n"
    "\tx = base(inputs)  # the frozen base\r\n"
    "\tx = keras.layers.GlobalAveragePooling2D()(x)\r\n"
    "\treturn keras.Model(inputs, keras.layers.Dense(2)(x))\r\n"
    "\r\n"
    "model = build()\r\n"
    'model.compile("adam", "mse")\r\n'
    "model.fit(tf.zeros((64, 224, 224, 3)), tf.zeros((64, 2)), batch_size=32)"  # no final newline
)

# Part of a base unfrozen in a loop, the model a Sequential (BN014): the freeze goes after the loop.
LOOP = """import tensorflow as tf

base = tf.keras.applications.MobileNetV2(include_top=False, weights="imagenet", input_shape=(96, 96, 3))
base.trainable = False
model = tf.keras.Sequential([base, tf.keras.layers.GlobalAveragePooling2D(), tf.keras.layers.Dense(2)])
for layer in base.layers[-20:]:
    layer.trainable = True
model.compile("adam", "mse")
model.fit(tf.zeros((64, 96, 96, 3)), tf.zeros((64, 2)), batch_size=32, epochs=3)
"""


def codes(path: Path, **context) -> set[str]:
    [result] = bnlint.lint(str(path), **context)["files"]
    assert result["error"] is None, result["error"]
    return {d["code"] for d in result["diagnostics"]}


def cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bnlint", *map(str, args)], capture_output=True, text=True)


def test_bn001_call_gets_training_false_and_nothing_else_changes(tmp_path):
    script = tmp_path / "train.py"
    script.write_bytes(CALL.encode())
    assert "BN001" in codes(script, keras_version="2")
    [done] = bnlint.fix(str(script), keras_version="2")["files"]
    assert [f["code"] for f in done["fixes"]] == ["BN001"]
    assert script.read_bytes() == CALL.replace("base(inputs)", "base(inputs, training=False)").encode()
    assert "BN001" not in codes(script, keras_version="2")
    bnlint.fix(str(script), keras_version="2")  # a second pass finds nothing to do
    assert script.read_bytes() == CALL.replace("base(inputs)", "base(inputs, training=False)").encode()


def test_bn012_freeze_loop_spelled_with_the_scripts_imports(tmp_path):
    script = tmp_path / "finetune.py"
    shutil.copy(EXAMPLE, script)
    assert "BN012" in codes(script)
    bnlint.fix(str(script))
    original = EXAMPLE.read_text().splitlines(keepends=True)
    index = original.index("base.trainable = True\n") + 1
    freeze = (
        "for layer in base.layers: layer.trainable = layer.trainable and not "
        "isinstance(layer, layers.BatchNormalization)\n"
    )  # the example imports `from keras import layers`
    assert script.read_text() == "".join([*original[:index], freeze, *original[index:]])
    assert "BN012" not in codes(script)
    before = script.read_bytes()
    bnlint.fix(str(script))
    assert script.read_bytes() == before


def test_bn014_freeze_goes_after_the_loop_that_unfreezes(tmp_path):
    script = tmp_path / "mobilenet.py"
    script.write_text(LOOP)
    assert "BN014" in codes(script, keras_version="2")
    bnlint.fix(str(script), keras_version="2")
    expected = LOOP.replace(
        "    layer.trainable = True\n",
        "    layer.trainable = True\nfor layer in base.layers: layer.trainable = layer.trainable and not "
        "isinstance(layer, tf.keras.layers.BatchNormalization)\n",
    )
    assert script.read_text() == expected
    assert "BN014" not in codes(script, keras_version="2")


def test_diff_shows_the_change_writes_nothing_and_fails_the_build(tmp_path):
    script = tmp_path / "train.py"
    script.write_bytes(CALL.encode())
    shown = cli("--diff", "--keras-version", "2", script)
    assert shown.returncode == 1
    assert "-\tx = base(inputs)  # the frozen base" in shown.stdout
    assert "+\tx = base(inputs, training=False)  # the frozen base" in shown.stdout
    assert script.read_bytes() == CALL.encode()
    assert cli("--fix", "--keras-version", "2", script).returncode == 0  # fixed, nothing left
    assert cli("--diff", "--keras-version", "2", script).returncode == 0


def test_a_fix_that_cannot_be_made_leaves_the_file_untouched_and_says_why(tmp_path):
    script = tmp_path / "oneline.py"
    text = EXAMPLE.read_text().replace("base.trainable = True", "if FINE_TUNE: base.trainable = True")
    script.write_text("FINE_TUNE = True\n" + text)
    done = cli("--fix", "--format", "json", script)
    [entry] = json.loads(done.stdout)["files"]
    assert [(s["code"], s["reason"]) for s in entry["skipped"]] == [
        ("BN012", "the statement shares its line with another")
    ]
    assert script.read_text() == "FINE_TUNE = True\n" + text
    assert done.returncode == 1  # the finding remains


FREEZE_CELL = (
    "for layer in base.layers: layer.trainable = layer.trainable and not "
    "isinstance(layer, keras.layers.BatchNormalization)"
)


def one_line_added(before: str, after: str) -> tuple[int, str]:
    """(index, text) of the only line `after` adds to `before`; fails on any other change."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    assert len(new) == len(old) + 1
    index = next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), len(old))
    assert new[:index] + new[index + 1 :] == old
    return index, new[index]


def test_notebook_fix_changes_only_the_source_of_its_cell(tmp_path):
    notebook = tmp_path / "nb.ipynb"
    shutil.copy(NOTEBOOK, notebook)
    assert "BN014" in codes(notebook)
    [entry] = bnlint.fix(str(notebook))["files"]
    assert [f["code"] for f in entry["fixes"]] == ["BN014"]
    index, added = one_line_added(NOTEBOOK.read_text(), notebook.read_text())
    assert added == f"    {json.dumps(FREEZE_CELL + chr(10))},\n"
    assert "keras.applications.ResNet50" in NOTEBOOK.read_text().splitlines()[index - 1]
    assert "BN014" not in codes(notebook)
    before = notebook.read_bytes()
    bnlint.fix(str(notebook))
    assert notebook.read_bytes() == before


def test_notebook_layout_outputs_and_escapes_survive(tmp_path):
    """Two-space indentation, escaped non-ASCII, outputs, a string `source` and no final
    newline: written back exactly as found, but for the one line the fix adds."""
    document = json.loads(NOTEBOOK.read_text())
    cells = document["cells"]
    cells.insert(0, {"cell_type": "markdown", "metadata": {}, "source": "# Histologie, café \u2615"})
    code = next(c for c in cells if c["cell_type"] == "code" and "ResNet50(" in "".join(c["source"]))
    code["source"] = "".join(code["source"])
    code["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["Model: \u00e9t\u00e9\n"]}]
    code["execution_count"] = 7
    text = json.dumps(document, indent=2, ensure_ascii=True)
    notebook = tmp_path / "layout.ipynb"
    notebook.write_text(text)
    bnlint.fix(str(notebook))
    fixed = notebook.read_text()
    assert "\\u2615" in fixed and not fixed.endswith("\n")
    changed = json.loads(fixed)
    assert changed["cells"][1:] != document["cells"][1:]
    [edited] = [c for c in changed["cells"] if c.get("execution_count") == 7]
    assert edited["source"].splitlines()[1] == FREEZE_CELL
    edited["source"] = code["source"]
    assert changed == document  # nothing else moved
    before = text.split("\n")
    after = fixed.split("\n")
    assert len(after) == len(before)  # a string source: the insertion is inside one JSON line


def test_colab_and_windows_layouts_are_written_back_exactly(tmp_path):
    """Colab saves compact JSON (no spaces); a notebook edited on Windows may have \\r\\n."""
    document = json.loads(NOTEBOOK.read_text())
    for name, text in (
        ("colab.ipynb", json.dumps(document, separators=(",", ":"))),
        ("windows.ipynb", json.dumps(document, indent=1).replace("\n", "\r\n") + "\r\n"),
    ):
        notebook = tmp_path / name
        notebook.write_bytes(text.encode())
        [entry] = bnlint.fix(str(notebook))["files"]
        assert [f["code"] for f in entry["fixes"]] == ["BN014"], entry["skipped"]
        fixed = json.loads(notebook.read_bytes())
        [cell] = [c for c in fixed["cells"] if FREEZE_CELL + "\n" in c["source"]]
        cell["source"].remove(FREEZE_CELL + "\n")
        assert fixed == document
        layout = notebook.read_bytes().replace(b"\\n", b"")  # the layout around the JSON strings
        assert layout.count(b"\r\n") == text.encode().replace(b"\\n", b"").count(b"\r\n") + (name == "windows.ipynb")


def test_a_notebook_layout_bnlint_cannot_reproduce_is_not_rewritten(tmp_path):
    notebook = tmp_path / "escaped.ipynb"  # an ASCII letter escaped: valid JSON no notebook writer produces
    text = json.dumps(json.loads(NOTEBOOK.read_text()), indent=1).replace('"markdown"', '"mark\\u0064own"', 1)
    assert '"mark\\u0064own"' in text
    notebook.write_text(text)
    before = notebook.read_bytes()
    [entry] = bnlint.fix(str(notebook))["files"]
    assert entry["fixes"] == [] and "layout cannot be written back exactly" in entry["skipped"][0]["reason"]
    assert notebook.read_bytes() == before


# Keras 2.2 era: names imported one by one, none of them a module BatchNormalization hangs off;
# two backbones tried in a loop (the freeze stays inside it, after the loop over the layers).
IMPORTED = """from keras.applications import ResNet50, Xception
from keras.layers import Dense, GlobalAveragePooling2D
from keras.models import Model

for constructor in (ResNet50, Xception):
    base = constructor(weights="imagenet", include_top=False)
    x = GlobalAveragePooling2D()(base.output)
    model = Model(base.input, Dense(2)(x))
    for layer in base.layers[-30:]:
        layer.trainable = True
    model.compile("adam", "mse")
    model.fit_generator(None, steps_per_epoch=100, epochs=5)
"""


def test_an_import_is_added_only_when_the_script_has_none_to_spell_bn_with(tmp_path):
    assert_bn_freeze_inserted(
        tmp_path / "backbones.py", IMPORTED, "from keras.applications import ResNet50, Xception\n", "base"
    )


def assert_bn_freeze_inserted(script, source: str, import_line: str, receiver: str) -> None:
    """BN014's fix on a Keras 2 script: BatchNormalization imported after `import_line`, and the
    freeze loop over `receiver.layers` right after the unfreezing statement; the finding gone."""
    script.write_text(source)
    assert "BN014" in codes(script, keras_version="2")
    bnlint.fix(str(script), keras_version="2")
    expected = source.replace(import_line, import_line + "from keras.layers import BatchNormalization\n").replace(
        "        layer.trainable = True\n",
        "        layer.trainable = True\n"
        f"    for layer in {receiver}.layers: layer.trainable = layer.trainable and not isinstance(layer, BatchNormalization)\n",
    )
    assert script.read_text() == expected
    assert "BN014" not in codes(script, keras_version="2")


FRAGMENT = """base = keras.applications.Xception(weights="imagenet", include_top=False)
x = keras.layers.GlobalAveragePooling2D()(base.output)
model = keras.Model(base.input, keras.layers.Dense(2)(x))
model.compile("adam", "mse")
model.fit(train_ds, epochs=3)
"""


def test_a_fragment_without_imports_is_fixed_in_its_own_convention(tmp_path):
    script = tmp_path / "fragment.py"
    script.write_text(FRAGMENT)
    assert "BN014" in codes(script)
    bnlint.fix(str(script))
    freeze = "for layer in base.layers: layer.trainable = layer.trainable and not isinstance(layer, keras.layers.BatchNormalization)\n"
    lines = FRAGMENT.splitlines(keepends=True)
    assert script.read_text() == "".join([lines[0], freeze, *lines[1:]])
    assert "BN014" not in codes(script)


SCRATCH = """from tensorflow import keras
from tensorflow.keras import layers

inputs = keras.Input((32, 32, 3))
x = layers.Conv2D(16, 3)(inputs)
x = layers.BatchNormalization(momentum=0.99)(x)
x = layers.ReLU()(x)
model = keras.Model(inputs, layers.Dense(2)(layers.Flatten()(x)))
model.compile("adam", "mse")
model.fit(keras.utils.image_dataset_from_directory("d", batch_size=64), epochs=3)
"""


def test_bn008_use_bias_false_on_the_constructor_not_the_call(tmp_path):
    """`Conv2D(16, 3)(inputs)`: two calls start at one position; the setting goes to the
    constructor. Safe here: the script trains from scratch and loads no weights."""
    script = tmp_path / "scratch.py"
    script.write_text(SCRATCH)
    assert "BN008" in codes(script, keras_version="2")
    [entry] = bnlint.fix(str(script), keras_version="2", select=["BN008"])["files"]
    assert [(f["code"], f["applicability"]) for f in entry["fixes"]] == [("BN008", "safe")]
    assert script.read_text() == SCRATCH.replace("Conv2D(16, 3)(inputs)", "Conv2D(16, 3, use_bias=False)(inputs)")
    assert "BN008" not in codes(script, keras_version="2")


def test_bn002_momentum_is_an_unsafe_fix_that_replaces_the_value(tmp_path):
    script = tmp_path / "scratch.py"
    script.write_text(SCRATCH)
    context = {"keras_version": "2", "dataset_size": 640, "select": ["BN002"]}
    assert "BN002" in codes(script, **context)
    [entry] = bnlint.fix(str(script), **context)["files"]
    assert entry["fixes"] == [] and entry["skipped"][0]["reason"] == "unsafe fix: pass --unsafe-fixes to apply it"
    assert script.read_text() == SCRATCH
    bnlint.fix(str(script), unsafe_fixes=True, **context)
    assert script.read_text() == SCRATCH.replace("momentum=0.99", "momentum=0.9")
    assert "BN002" not in codes(script, **context)


def test_bn002_momentum_loop_for_a_base_in_the_files_indentation(tmp_path):
    script = tmp_path / "base.py"
    script.write_text(LOOP.replace("    layer.trainable = True", "\tlayer.trainable = True"))
    context = {"keras_version": "2", "steps": 300, "select": ["BN002"]}
    assert "BN002" in codes(script, **context)
    bnlint.fix(str(script), unsafe_fixes=True, **context)
    added = (
        "for layer in base.layers:\n"
        "\tif isinstance(layer, tf.keras.layers.BatchNormalization): layer.momentum = 0.9833\n"
    )
    tabbed = LOOP.replace("    layer.trainable = True", "\tlayer.trainable = True")
    built = "input_shape=(96, 96, 3))\n"  # right after the base is built
    assert script.read_text() == tabbed.replace(built, built + added, 1)
    assert "BN002" not in codes(script, **context)


def test_bn004_compile_again_after_the_last_trainable_change(tmp_path):
    script = tmp_path / "unfreeze.py"
    source = ROOT / "tests" / "scripts" / "unfreeze_without_recompile.py"
    shutil.copy(source, script)
    bnlint.fix(str(script), unsafe_fixes=True, keras_version="2", select=["BN004"])
    _, added = one_line_added(source.read_text(), script.read_text())
    assert added == 'model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")\n'
    index, _ = one_line_added(source.read_text(), script.read_text())
    assert script.read_text().splitlines()[index - 1].strip() == "layer.trainable = False"  # after the loop
    assert "BN004" not in codes(script, keras_version="2")


def test_one_space_notebook_with_outputs_keeps_them(tmp_path):
    """nbformat's own layout (1-space indentation, raw UTF-8) with outputs in every code cell."""
    document = json.loads(NOTEBOOK.read_text())
    for index, cell in enumerate(c for c in document["cells"] if c["cell_type"] == "code"):
        cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": [f"Époque {index}: ok\n"]}]
    text = json.dumps(document, indent=1, ensure_ascii=False) + "\n"
    notebook = tmp_path / "outputs.ipynb"
    notebook.write_text(text, encoding="utf-8")
    bnlint.fix(str(notebook))
    _, added = one_line_added(text, notebook.read_text(encoding="utf-8"))
    assert added == f"    {json.dumps(FREEZE_CELL + chr(10))},\n"
    assert "Époque 3: ok" in notebook.read_text(encoding="utf-8")


def test_a_fix_that_would_break_the_file_leaves_it_untouched(tmp_path):
    """The safety net under every rule's fix: a fix whose text does not parse is an error for
    the file and nothing is written (constructed here: no rule writes such a fix)."""
    import pytest

    from bnlint.diagnostics import Edit, Fix
    from bnlint.errors import InputError
    from bnlint.fixing import FixOptions, FixReport, _fix_source
    from bnlint.linting import Options, lint_file

    script = tmp_path / "train.py"
    shutil.copy(EXAMPLE, script)
    before = lint_file(str(script), Options())
    broken = Fix("a broken fix", "safe", (Edit("text", "22", "insert-statement", None, "for layer in :"),))
    before.diagnostics = [before.diagnostics[0]]
    before.diagnostics[0].fix = broken
    with pytest.raises(InputError, match="the fixed text does not lint"):
        _fix_source(FixReport(path=str(script), before=before), Options(), FixOptions())
    assert script.read_bytes() == EXAMPLE.read_bytes()


# The base is built in one function and unfrozen in another, through the model whose head sits
# on its output (so the model's layers are the base's): the fix must name `model` there, since
# `base` is not defined in that function.
TWO_FUNCTIONS = """from keras.applications import ResNet50
from keras.layers import Dense, GlobalAveragePooling2D
from keras.models import Model


def build():
    base = ResNet50(weights="imagenet", include_top=False)
    x = GlobalAveragePooling2D()(base.output)
    return Model(base.input, Dense(2)(x))


def unfreeze(model):
    for layer in model.layers[150:]:
        layer.trainable = True
    model.compile("sgd", "categorical_crossentropy")
    return model


model = unfreeze(build())
model.fit_generator(None, steps_per_epoch=100, epochs=5)
"""


def test_the_freeze_names_what_is_defined_where_it_goes(tmp_path):
    assert_bn_freeze_inserted(
        tmp_path / "two_functions.py", TWO_FUNCTIONS, "from keras.applications import ResNet50\n", "model"
    )


SEQUENTIAL = """import keras

base = keras.applications.MobileNetV2(input_shape=(32, 32, 3), include_top=False, weights="imagenet", alpha=0.35)
base.trainable = False
model = keras.Sequential([base, keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2)], name="classifier")
"""

# Runs both versions of the script with real Keras 3 (weights=None: nothing is downloaded), gives
# the fixed model the original's weights, and compares predictions in inference mode.
EQUIVALENCE = """
import json, sys
import numpy as np
import keras
def build(path):
    scope = {}
    exec(open(path).read().replace('weights="imagenet"', "weights=None"), scope)
    return scope["model"]
before, after = build(sys.argv[1]), build(sys.argv[2])
after.set_weights(before.get_weights())
x = np.random.default_rng(0).random((4, 32, 32, 3), dtype="float32")
print(json.dumps({"same": bool(np.array_equal(before(x, training=False), after(x, training=False))),
                  "classes": [type(before).__name__, type(after).__name__], "name": after.name}))
"""


def test_bn001_sequential_becomes_the_equivalent_functional_model(tmp_path):
    original, script = tmp_path / "original.py", tmp_path / "sequential.py"
    original.write_text(SEQUENTIAL)
    script.write_text(SEQUENTIAL)
    [entry] = bnlint.fix(str(script))["files"]
    assert entry["skipped"][0]["reason"] == "unsafe fix: pass --unsafe-fixes to apply it"
    bnlint.fix(str(script), unsafe_fixes=True)
    assert script.read_text() == SEQUENTIAL.replace(
        'model = keras.Sequential([base, keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2)], name="classifier")\n',
        "model_input = keras.Input(shape=base.input.shape[1:])\n"
        "model_x = base(model_input, training=False)\n"
        "model_x = keras.layers.GlobalAveragePooling2D()(model_x)\n"
        "model_x = keras.layers.Dense(2)(model_x)\n"
        'model = keras.Model(model_input, model_x, name="classifier")\n',
    )
    assert "BN001" not in codes(script)
    run = subprocess.run([sys.executable, "-c", EQUIVALENCE, original, script], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads(run.stdout.splitlines()[-1]) == {
        "same": True,
        "classes": ["Sequential", "Functional"],
        "name": "classifier",
    }


def test_a_sequential_list_with_a_comment_is_not_rewritten(tmp_path):
    script = tmp_path / "commented.py"
    text = SEQUENTIAL.replace("[base, ", "[\n    base,  # the pretrained part\n    ")
    script.write_text(text)
    [entry] = bnlint.fix(str(script), unsafe_fixes=True)["files"]
    assert [s["reason"] for s in entry["skipped"]] == ["a comment inside the Sequential list would be lost"]
    assert script.read_text() == text


def test_fix_in_parallel_writes_what_a_serial_fix_writes(tmp_path):
    for jobs in ("1", "2"):
        folder = tmp_path / f"jobs{jobs}"
        folder.mkdir()
        shutil.copy(EXAMPLE, folder / "a.py")
        shutil.copy(NOTEBOOK, folder / "b.ipynb")
        (folder / "c.py").write_text(LOOP)
        (folder / "d.py").write_text(TWO_FUNCTIONS)
        done = cli("--fix", "--jobs", jobs, "--keras-version", "2", "--format", "json", folder)
        assert [f["path"].rsplit("/", 1)[1] for f in json.loads(done.stdout)["files"]] == [
            "a.py",
            "b.ipynb",
            "c.py",
            "d.py",
        ]
    for name in ("a.py", "b.ipynb", "c.py", "d.py"):
        assert (tmp_path / "jobs1" / name).read_bytes() == (tmp_path / "jobs2" / name).read_bytes()
    assert (tmp_path / "jobs2" / "c.py").read_text() != LOOP  # the fixes were made
    assert (tmp_path / "jobs2" / "d.py").read_text() != TWO_FUNCTIONS
