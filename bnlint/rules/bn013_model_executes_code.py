from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..context import TrainingContext
from ..diagnostics import Diagnostic, Severity
from ..graph import ModelGraph
from ..readers.keras_config import WRAPPER_KEYS
from .base import Example, Rule

KERAS_MODULES = ("keras", "tf_keras", "tensorflow")
CODE_LOADERS = {"TFSMLayer": "loads and runs a TensorFlow SavedModel's graph"}
BYTECODE_NOTE = (
    " (Keras refuses bytecode unless safe_mode=False, but tf_keras runs it without asking when it loads an .h5 file)"
)


def _outside_keras(module: Any) -> bool:
    if not isinstance(module, str) or not module:
        return False
    return module.split(".")[0] not in KERAS_MODULES


def findings(value: Any, key: str = "") -> list[str]:
    """What in one JSON value runs code on load: bytecode, or a reference into a module outside Keras."""
    found: list[str] = []
    _collect(value, key, found)
    return found


def _collect(value: Any, key: str, found: list[str]) -> None:
    # A plain recursive walk, not generators: a ResNet152 config has ~20,000 values.
    if isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)):
                _collect(item, key, found)
        return
    if not isinstance(value, dict):
        return
    if value.get("class_name") == "__lambda__":
        found.append(f"Python bytecode in '{key or 'function'}'")
        return
    module, name = value.get("module"), value.get("class_name")
    if _outside_keras(module):
        target = value.get("config") if name == "function" else name
        found.append(f"{'function' if name == 'function' else 'class'} '{target}' from module '{module}'")
    registered = value.get("registered_name")
    if isinstance(registered, str) and ">" in registered and registered.split(">")[0] not in KERAS_MODULES:
        found.append(f"custom object '{registered}'")
    for child_key, child in value.items():
        if isinstance(child, str):
            if child == "lambda" and child_key.endswith("_type"):
                found.append(f"Python bytecode in '{child_key[: -len('_type')]}'")
        elif isinstance(child, (dict, list)) and child_key not in NESTED_LAYER_KEYS:
            _collect(child, child_key, found)


NESTED_LAYER_KEYS = frozenset(("layers", *WRAPPER_KEYS))  # nested layers are reported as themselves


def check(graph: ModelGraph, context: TrainingContext) -> Iterable[Diagnostic]:
    for layer in graph.layers():
        entry = {k: v for k, v in layer.raw.items() if k not in ("config", "inbound_nodes", "compile_config")}
        found = list(dict.fromkeys([*findings(entry), *findings(layer.config)]))
        if layer.class_name in CODE_LOADERS:
            found.insert(0, CODE_LOADERS[layer.class_name])
        if found:
            bytecode = any(item.startswith("Python bytecode") for item in found)
            yield RULE.diagnostic(
                f"{layer.class_name} '{layer.name}' runs code when the model is loaded",
                detail=f"{'; '.join(found)}{BYTECODE_NOTE if bytecode else ''}. bnlint did not run it; load the model "
                "only if you trust its source.",
                layer=layer.path,
            )
    for member in graph.code_members:  # "archive member 'x' is a pickle: unpickling it runs code"
        headline, _, why = member.rpartition(": ")  # (the last ": ": a member's name may hold one)
        yield RULE.diagnostic(
            headline or why,
            detail=f"{why + '. ' if headline else ''}bnlint loaded none of it; load the model only if you trust "
            "its source.",
        )
    found = list(dict.fromkeys(findings(graph.training_config or {})))
    if found:
        yield RULE.diagnostic(
            "the training configuration runs code when the model is compiled on load",
            detail=f"{'; '.join(found)}. Load it with compile=False unless you trust its source.",
        )


RULE = Rule(
    code="BN013",
    name="model-executes-code",
    severity=Severity.INFO,
    summary="The model holds code that runs when it is loaded (bnlint did not run it).",
    what=(
        "Finds what makes loading a model execute code: Lambda layers with marshalled "
        "Python bytecode, functions and classes referenced from modules outside Keras "
        "(custom activations, layers, losses, `registered_name`s of custom objects), "
        "TFSMLayer, which loads another SavedModel's graph, and `.keras` archive members that "
        "are pickles or numpy object arrays (unpickled on load) or that share a name."
    ),
    why=(
        "`keras.models.load_model` deserializes Lambda bytecode and imports the modules a "
        "config names. Keras 3 refuses bytecode by default (`safe_mode=True`), but tf_keras "
        "`.h5` loading runs it without asking, and safe_mode has had several bypasses "
        "(CVE-2024-3660, CVE-2025-1550, CVE-2025-8747, CVE-2025-9905, CVE-2025-9906). A "
        "reviewer should know before loading a model from an untrusted source. bnlint reads "
        "models as data (zipfile, h5py, JSON) and never runs or unmarshals what it finds."
    ),
    fix_text="None: replace Lambda layers with registered custom layers, or load only models you trust.",
    fix_safety="No automatic fix.",
    examples=(
        Example(
            "Lambda layer",
            "inp = keras.Input((16,))\nx = layers.Lambda(lambda t: t * 2.0)(inp)\n"
            "x = layers.BatchNormalization()(x)\nmodel = keras.Model(inp, layers.Dense(2)(x))",
        ),
        Example(
            "Lambda preprocessing in front of a pretrained base",
            "base = make_base()\ninp = keras.Input((8, 8, 3))\nx = layers.Lambda(lambda t: t / 127.5 - 1.0)(inp)\n"
            "x = base(x)\nx = layers.GlobalAveragePooling2D()(x)\nmodel = keras.Model(inp, layers.Dense(2)(x))",
        ),
        Example(
            "only built-in layers",
            "inp = keras.Input((16,))\nx = layers.Dense(8, activation='relu')(inp)\n"
            "x = layers.BatchNormalization()(x)\nmodel = keras.Model(inp, layers.Dense(2)(x))",
            fires_on=frozenset(),
        ),
    ),
    check_model=check,
)
