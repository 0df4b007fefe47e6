"""`bnlint probe` and `bnlint recalibrate`: run a model on data with the Keras that saved
it and compare each BN layer's input statistics with its moving statistics (probe), or
replace the moving statistics with them (recalibrate, AdaBN).

The model file is first read as data (no TensorFlow): its Keras generation, input shape,
BN layers and any code it holds (BN013, refused unless trusted). Only then is Keras
imported, in this process: Keras 3 for Keras 3 files, tf_keras for tf_keras / Keras 2
files, one generation per process (a `bnlint probe` run is one process).

How BN inputs are captured: each BN layer's `call` is replaced on the instance (never on
the class) while the model runs in inference mode: eagerly for the probe, or once while
Keras traces it into a TensorFlow graph for recalibration (the replaced call then names
each BN input tensor of the graph). That sees every call of every BN layer wherever it
sits: inside a nested functional base, a Sequential, a wrapper, in both Keras
generations, with no sub-model to build (a sub-model ending at a BN input cannot reach
inside a nested base, whose layers' `.input` belong to the base's own graph).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import InputError
from .graph import BN_CLASSES, Generation, path_segment
from .shift import THRESHOLD, ChannelMoments, LayerShift, layer_shift, mix, overall_score


@dataclass
class ModelInfo:
    """What the file says about the model, read without Keras."""

    path: str
    kind: str
    keras_version: str | None
    generation: str  # the Keras that loads it: "keras3", or "keras2" (tf_keras) for every Keras 2 file
    input_shape: tuple | None  # (batch, height, width, channels) when the config records one input
    code: list[str]  # what loading it would run (BN013)
    bn_paths: list[str]


def describe(path: str) -> ModelInfo:
    """Read the model as data (in a forked child with a deadline, as `inspect` does)."""
    from .detect import kind_of
    from .fixing import code_it_holds
    from .isolation import run_isolated
    from .limits import in_force
    from .linting import Options, limits_for
    from .readers import read_model

    kind = kind_of(path)
    if kind in ("script", "notebook"):
        raise InputError("probe and recalibrate run saved models (.keras, .h5, SavedModel), not scripts")
    limits = limits_for(path, Options())

    def work() -> ModelInfo:
        with in_force(limits), read_model(path, kind) as graph:
            return ModelInfo(
                path=path,
                kind=kind,
                keras_version=graph.keras_version,
                generation=graph.generation.value,
                input_shape=_recorded_input_shape(graph.root),
                code=code_it_holds(path, kind),
                bn_paths=[layer.path for layer in graph.bn_layers()],
            )

    info = run_isolated(work, limits.max_seconds)
    if info.generation == Generation.LEGACY.value:
        # Public .h5 files of Keras 2.0-2.3 (and TF 1's tf.keras) load in tf_keras, which runs them
        # in inference mode exactly as they ran; Keras 1 files do not, and Keras says why.
        info.generation = Generation.KERAS2.value
    if not info.bn_paths:
        raise InputError("the model has no BatchNormalization layers", info.keras_version)
    return info


def _recorded_input_shape(root: Any) -> tuple | None:
    """The single input shape the config records (a Functional's InputLayer, a Sequential's
    first layer or build shape), or None: Keras then tells, once the model is loaded."""
    inputs = [child for child in root.children if child.class_name == "InputLayer"]
    candidates = [child.config for child in inputs[:1]] if len(inputs) == 1 else []
    if root.is_sequential and root.children and not inputs:
        candidates = [root.children[0].config, root.config]
    for config in candidates:
        shape = config.get("batch_shape") or config.get("batch_input_shape") or config.get("build_input_shape")
        if isinstance(shape, list):
            return tuple(shape)
    return None


# -- Keras, in this process ---------------------------------------------------------------


@contextlib.contextmanager
def quiet_native_logs() -> Iterator[None]:
    """TensorFlow's C++ logging writes to file descriptor 2 before TF_CPP_MIN_LOG_LEVEL is
    read (oneDNN and CUDA notices): send fd 2 to /dev/null meanwhile and keep Python's
    sys.stderr (progress bar, error line) on the real one."""
    if os.environ.get("BNLINT_TRACEBACK"):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    stream = os.fdopen(os.dup(saved), "w", buffering=1, encoding=sys.stderr.encoding, errors="replace")
    original, sys.stderr = sys.stderr, stream
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    try:
        yield
    finally:
        stream.flush()
        os.dup2(saved, 2)
        os.close(saved)
        sys.stderr = original
        stream.close()


def import_keras(generation: str) -> Any:
    """The Keras package of a generation, on the TensorFlow backend (the data pipeline and
    the dependency trace below are TensorFlow's)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ["KERAS_BACKEND"] = "tensorflow"
    warnings.filterwarnings("ignore")  # Keras' deprecation notices are not the user's business here
    try:
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
        if generation == Generation.KERAS3.value:
            import keras
        else:
            import tf_keras as keras
    except ImportError as exc:
        raise InputError(
            f"needs TensorFlow and {'Keras 3' if generation == 'keras3' else 'tf_keras'} ({exc}); "
            "install them: pip install 'bnlint[tensorflow]'"
        ) from None
    return keras


def one_line(exc: BaseException, limit: int = 300) -> str:
    """Keras errors span lines and carry terminal colours: bnlint reports one clean line."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", f"{type(exc).__name__}: {exc}")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def load_model(keras: Any, path: str) -> Any:
    """Safe mode stays on even for --trust-model-code: trust only lets bnlint try."""
    try:
        return keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - whatever Keras raises, the user gets one line
        raise InputError(f"Keras cannot load the model ({one_line(exc)})") from None


def input_shape(model: Any) -> tuple | None:
    inputs = getattr(model, "inputs", None) or []
    if len(inputs) > 1:
        raise InputError(f"the model takes {len(inputs)} inputs: probe and recalibrate feed one image input")
    if not inputs:
        return None
    shape = inputs[0].shape
    return tuple(shape.as_list() if hasattr(shape, "as_list") else shape)


@dataclass
class BNLayer:
    path: str  # bnlint's layer path (what `inspect` prints)
    layer: Any

    @property
    def axis(self) -> int | list[int]:
        axis = self.layer.axis
        return list(axis) if isinstance(axis, (list, tuple)) else int(axis)

    def stored(self) -> tuple[np.ndarray, np.ndarray]:
        return np.array(self.layer.moving_mean.numpy()), np.array(self.layer.moving_variance.numpy())

    def assign(self, mean: np.ndarray, variance: np.ndarray) -> None:
        for variable, value in ((self.layer.moving_mean, mean), (self.layer.moving_variance, variance)):
            dtype = np.dtype(getattr(variable.dtype, "as_numpy_dtype", variable.dtype))
            variable.assign(np.asarray(value).reshape(tuple(variable.shape)).astype(dtype))


def bn_layers(keras: Any, model: Any) -> list[BNLayer]:
    """Every BN layer with bnlint's path for it (the model's name, then each layer's)."""
    found: list[BNLayer] = []
    seen: set[int] = set()  # a layer shared by two nested models is one BN layer (its first path)

    def walk(layer: Any, path: str) -> None:
        children = list(getattr(layer, "layers", None) or [])
        children += [getattr(layer, key) for key in ("layer", "forward_layer", "backward_layer") if hasattr(layer, key)]
        for child in children:
            if child is None or id(child) in seen:
                continue
            seen.add(id(child))
            child_path = f"{path}/{path_segment(child.name)}"
            if isinstance(child, keras.layers.BatchNormalization) or type(child).__name__ in BN_CLASSES:
                found.append(BNLayer(child_path, child))
            walk(child, child_path)

    walk(model, path_segment(model.name))
    return found


class Interceptor:
    """While active, each BN layer's `call` is replaced on its instance by one that shows
    the input to `before(index, inputs)` and the output to `after(index, outputs)`."""

    def __init__(
        self,
        bns: list[BNLayer],
        before: Callable[[int, Any], None],
        after: Callable[[int, Any], Any] | None = None,
    ):
        self.bns, self.before, self.after = bns, before, after

    def __enter__(self) -> Interceptor:
        for index, bn in enumerate(self.bns):
            original = bn.layer.call

            def call(inputs: Any, *args: Any, _index: int = index, _original: Any = original, **kwargs: Any) -> Any:
                self.before(_index, inputs)
                outputs = _original(inputs, *args, **kwargs)
                return self.after(_index, outputs) if self.after is not None else outputs

            # object.__setattr__: past Keras' attribute tracking, which would record the function.
            object.__setattr__(bn.layer, "call", call)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for bn in self.bns:
            with contextlib.suppress(AttributeError):
                object.__delattr__(bn.layer, "call")


@dataclass
class Measurement:
    moments: dict[int, ChannelMoments] = field(default_factory=dict)
    order: list[int] = field(default_factory=list)  # BN layers in the order the network first calls them


def measure(
    model: Any,
    bns: list[BNLayer],
    batches: Iterable[np.ndarray],
    wanted: set[int] | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> Measurement:
    """One eager pass over the data in inference mode, merging each wanted BN layer's
    input statistics batch by batch."""
    wanted = set(range(len(bns))) if wanted is None else wanted
    result = Measurement()

    def before(index: int, inputs: Any) -> None:
        if index not in result.moments:
            result.moments[index] = ChannelMoments(bns[index].axis)
            result.order.append(index)
        if index in wanted:
            result.moments[index].update(np.asarray(inputs))

    with Interceptor(bns, before):
        for batch in batches:
            _run(lambda inputs: model(inputs, training=False), batch)
            if on_batch is not None:
                on_batch(len(batch))
    result.moments = {i: m for i, m in result.moments.items() if i in wanted and m.count}
    return result


def _run(forward: Callable[[np.ndarray], Any], batch: np.ndarray) -> Any:
    try:
        return forward(batch)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - Keras' reason, in one line
        raise InputError(f"Keras cannot run the model on inputs of shape {batch.shape} ({one_line(exc)})") from None


# -- probe ----------------------------------------------------------------------------------


def probe_report(info: ModelInfo, bns: list[BNLayer], measured: Measurement, samples: int) -> dict[str, Any]:
    """The `--format json` document of `bnlint probe` (BN layers in network order)."""
    layers, shifts = [], []
    for index in measured.order:
        moments = measured.moments.get(index)
        if moments is None:
            continue
        shift = shift_of(bns[index], moments)
        shifts.append(shift)
        layers.append(_shift_row(bns[index].path, shift))
    score = overall_score(shifts)
    return {
        "path": info.path,
        "keras_version": info.keras_version,
        "samples": samples,
        "score": score,
        "threshold": THRESHOLD,
        "verdict": "close" if score <= THRESHOLD else "far",  # NaN (broken statistics, BN006) is far
        "layers": layers,
    }


def shift_of(bn: BNLayer, moments: ChannelMoments) -> LayerShift:
    moving_mean, moving_variance = bn.stored()
    return layer_shift(moments.mean, moments.variance, moving_mean, moving_variance, float(bn.layer.epsilon))


def _shift_row(path: str, shift: LayerShift) -> dict[str, Any]:
    return {
        "path": path,
        "channels": shift.channels,
        "mean_shift": shift.mean_shift,
        "log_var_ratio": shift.log_var_ratio,
        "score": shift.score,
    }


def json_ready(value: Any) -> Any:
    """NaN and Inf (a layer with broken statistics) become null: JSON has no such numbers."""
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_ready(item) for item in value]
    return value


# -- recalibrate ----------------------------------------------------------------------------


@dataclass
class Plan:
    """The passes recalibration makes: stage k holds the BN layers whose inputs depend on
    BN layers of earlier stages only, so one pass over the data measures them all."""

    stages: list[list[int]]
    order: list[int]  # network order: the order of the BN layers' first calls
    graph: Any = None  # the forward pass traced into a TensorFlow graph (None: run eagerly)
    tensors: dict[int, Any] = field(default_factory=dict)  # each BN layer's input in that graph


def plan(model: Any, bns: list[BNLayer], sample: np.ndarray) -> Plan:
    """Trace one forward pass into a TensorFlow graph and read off which BN layers feed
    which: a BN layer's stage is one more than the highest stage among the BN layers
    upstream of its input. Exact (graph reachability, not a numerical test). Each pass
    then runs the graph pruned to the stage's BN inputs: nothing past them is computed,
    and no Python runs per layer (a MobileNetV2 pass: 5x faster than eagerly; pruning
    costs ~0.5 s per stage on DenseNet121).

    A BN layer called more than once (its later inputs depend on its own statistics), or a
    model that does not trace, gets one eager pass per BN layer in call order: always
    correct, only slower."""
    import tensorflow as tf

    inputs: dict[int, list[Any]] = {}
    marks: set[str] = set()

    def before(index: int, tensor: Any) -> None:
        inputs.setdefault(index, []).append(tensor)

    def after(index: int, outputs: Any) -> Any:
        marked = tf.identity(outputs)
        marks.add(marked.op.name)
        return marked

    try:
        with Interceptor(bns, before, after):
            spec = tf.TensorSpec((None, *sample.shape[1:]), tf.float32)
            graph = tf.compat.v1.wrap_function(lambda x: model(x, training=False), [spec])
    except Exception:  # noqa: BLE001 - the eager plan is always correct
        graph = None
    order = measure(model, bns, [sample[:1]], wanted=set()).order
    if graph is None or any(len(tensors) != 1 for tensors in inputs.values()) or set(inputs) != set(order):
        return Plan([[index] for index in order], order)
    tensors = {index: found[0] for index, found in inputs.items()}
    levels = _levels(marks, tensors)
    stages: dict[int, list[int]] = {}
    for index in order:
        stages.setdefault(levels[index], []).append(index)
    return Plan([stages[level] for level in sorted(stages)], order, graph, tensors)


def _levels(marks: set[str], inputs: dict[int, Any]) -> dict[int, int]:
    """Stage of each BN layer: 1 + the most marked (BN output) ops on any path to its input;
    an iterative depth-first walk, as graphs are deeper than Python's recursion limit."""
    memo: dict[str, int] = {}

    def upstream(start: Any) -> int:
        stack = [start]
        while stack:
            op = stack[-1]
            if op.name in memo:
                stack.pop()
                continue
            pending = [tensor.op for tensor in op.inputs if tensor.op.name not in memo]
            if pending:
                stack.extend(pending)
                continue
            deepest = max((memo[tensor.op.name] for tensor in op.inputs), default=0)
            memo[op.name] = deepest + (op.name in marks)
            stack.pop()
        return memo[start.name]

    return {index: upstream(tensor.op) + 1 for index, tensor in inputs.items()}


def measure_stage(
    model: Any,
    bns: list[BNLayer],
    the_plan: Plan,
    stage: list[int],
    batches: Iterable[np.ndarray],
    on_batch: Callable[[int], None] | None = None,
) -> dict[int, ChannelMoments]:
    """The stage's BN input statistics over the data: through the traced graph pruned to
    those inputs (the moving statistics are read from the variables as it runs, so the
    earlier stages' new values are in effect), or eagerly without a graph."""
    if the_plan.graph is None:
        return measure(model, bns, batches, set(stage), on_batch).moments
    import tensorflow as tf

    graph = the_plan.graph
    pruned = graph.prune(feeds=graph.inputs[0], fetches=[the_plan.tensors[index] for index in stage])
    moments = {index: ChannelMoments(bns[index].axis) for index in stage}
    for batch in batches:
        outputs = _run(lambda inputs: pruned(tf.constant(inputs)), batch)
        for index, value in zip(stage, outputs, strict=True):
            moments[index].update(value.numpy())
        if on_batch is not None:
            on_batch(len(batch))
    return moments


@dataclass
class Recalibrated:
    bn: BNLayer
    before: LayerShift  # the data against the stored statistics
    after: LayerShift  # the data against the written ones (0 without --prior)
    mean: np.ndarray
    variance: np.ndarray


def recalibrate(
    model: Any,
    bns: list[BNLayer],
    batches: Callable[[], Iterable[np.ndarray]],
    samples: int,
    prior: int,
    the_plan: Plan,
    on_batch: Callable[[int], None] | None = None,
) -> list[Recalibrated]:
    """AdaBN, stage by stage: measure the stage's BN inputs over all the data (the exact
    mean and population variance, not an EMA), mix in the stored statistics as `prior`
    pseudo-samples, and set them on the loaded model before the next stage runs."""
    done: dict[int, Recalibrated] = {}
    for stage in the_plan.stages:
        measured = measure_stage(model, bns, the_plan, stage, batches(), on_batch)
        for index in stage:
            moments = measured.get(index)
            if moments is None:
                continue
            bn = bns[index]
            stored_mean, stored_variance = bn.stored()
            mean, variance = moments.mean.ravel(), moments.variance.ravel()
            if prior:  # without a prior, stored NaN/Inf (BN006) must not leak in as 0 * NaN
                mean = mix(stored_mean.ravel(), mean, prior, samples)
                variance = mix(stored_variance.ravel(), variance, prior, samples)
            before = shift_of(bn, moments)
            bn.assign(mean, variance)
            done[index] = Recalibrated(bn, before, shift_of(bn, moments), mean, variance)
    return [done[index] for index in the_plan.order if index in done]


def recalibration_report(
    info: ModelInfo, output: str, samples: int, prior: int, passes: int, results: list[Recalibrated]
) -> dict[str, Any]:
    """The `--format json` document of `bnlint recalibrate`."""
    return {
        "path": info.path,
        "output": output,
        "keras_version": info.keras_version,
        "samples": samples,
        "prior": prior,
        "passes": passes,
        "layers": [
            {
                "path": r.bn.path,
                "channels": r.before.channels,
                "mean_shift_before": r.before.mean_shift,
                "log_var_ratio_before": r.before.log_var_ratio,
                "score_before": r.before.score,
                "score_after": r.after.score,
            }
            for r in results
        ],
    }
