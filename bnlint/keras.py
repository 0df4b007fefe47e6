"""`BNLintCallback`: bnlint inside `model.fit()`, on Keras 3 and tf_keras alike.

- When training begins: the model rules on the live model (bnlint.check), with the horizon
  fit() itself knows (epochs x steps per epoch); `fail_on` stops the run there.
- After the first training step: which BN layers really changed their moving statistics,
  beside what bnlint.semantics predicted for each (`measured`); a disagreement is a finding.
- When training ends: how far each pretrained base's BN statistics moved and how much of
  them is left (`drift`), and BN006 on the final statistics.

Findings go out as `BNLintWarning`s and through the `bnlint` logger, and are kept on
`report` (bnlint.check's document). The cost is one copy of the BN statistics when training
begins and one comparison after the first step. Keras is not imported here: the callback
speaks the callback protocol both generations call (duck-typed, so one class serves both).
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import live, momentum
from .context import from_options
from .diagnostics import Diagnostic, Severity
from .errors import BNLintError, BNLintWarning
from .graph import Layer, ModelGraph
from .linting import SEVERITY_ORDER, FileResult, in_order, report
from .rules import select as select_rules
from .rules._shared import momentum_of, statistics_state
from .semantics import bn_mode
from .shift import layer_shift
from .weights import BNWeights

LOGGER = logging.getLogger("bnlint")
LOGGER.addHandler(logging.NullHandler())  # a library's logger: silent unless the user configures logging
STATISTICS = ("moving_mean", "moving_variance")
# Not a rule about the model: bnlint's prediction failed a measurement (a bnlint bug, or a
# Keras behaviour bnlint does not know yet).
MISMATCH = ("BN900", "prediction-mismatch")
INTERNAL = {"bnlint", "keras", "tf_keras", "tensorflow", "jax", "torch"}
FAIL_ON = {"error": Severity.ERROR, "warning": Severity.WARNING, "info": Severity.INFO}


@dataclass
class _Watched:
    """One BN layer of the live model: its graph node, live object and starting statistics."""

    layer: Layer
    live: Any
    predicted: bool | None
    start: dict[str, np.ndarray]


class BNLintCallback:
    """`model.fit(..., callbacks=[BNLintCallback()])`: bnlint's findings before the first
    step, BN updates measured after it, and the drift of pretrained statistics at the end.

    fail_on: "error" or "warning" (or "info") raises `bnlint.BNLintError` before the first
    step when a finding of that severity or worse is found. batch_size, dataset_size: the
    training context fit() does not tell a callback. select, ignore: rule codes or prefixes.
    verbose: 1 prints the drift summary when training ends (findings are warnings either way).
    """

    # tf_keras converts the logs of every batch to numpy for a callback that does not take
    # tensors; this one never reads them.
    _supports_tf_logs = True
    # Keras 3 may run batch hooks in a thread while the next step runs: measuring whether
    # statistics changed in the first step reads the same answer after the second.
    async_safe = True

    def __init__(
        self,
        fail_on: str | None = None,
        batch_size: int | None = None,
        select: list[str] | tuple[str, ...] | None = None,
        ignore: list[str] | tuple[str, ...] | None = None,
        dataset_size: int | None = None,
        verbose: int = 1,
    ):
        if fail_on is not None and fail_on not in FAIL_ON:
            raise ValueError(f"fail_on must be one of {sorted(FAIL_ON)} or None, not {fail_on!r}")
        self.fail_on = fail_on
        self.batch_size, self.dataset_size = batch_size, dataset_size
        self.rules = select_rules(list(select or ()), list(ignore or ()))
        self.verbose = verbose
        self.model: Any = None
        self.params: dict[str, Any] = {}
        self.report: dict[str, Any] | None = None
        self.measured: list[dict[str, Any]] = []
        self.drift: list[dict[str, Any]] = []
        self._result: FileResult | None = None
        self._graph: ModelGraph | None = None
        self._watched: list[_Watched] = []
        self._first_step_done = False
        self._iterations_at_start: int | None = None
        self._batches = 0

    # The callback protocol of Keras 3 and tf_keras.
    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params or {}

    def set_model(self, model: Any) -> None:
        self.model = model

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.measured, self.drift, self._first_step_done, self._batches = [], [], False, 0
        graph = live.graph_of(self.model)
        epochs, steps = self.params.get("epochs"), self.params.get("steps")
        context = from_options(
            "BNLintCallback argument", batch_size=self.batch_size, dataset_size=self.dataset_size
        ).merged_under(source="fit() parameters", epochs=epochs, steps=epochs * steps if epochs and steps else None)
        self._graph, self._result = graph, live.checked(graph, context, self.rules)
        self._watched = [self._watch(layer) for layer in graph.root.walk() if layer.is_bn]
        self._iterations_at_start = live.iterations(self.model) or 0
        self._publish(self._result.diagnostics)
        self._update_report()
        if self.fail_on is not None:
            worst = FAIL_ON[self.fail_on]
            stopping = [d for d in self._result.diagnostics if SEVERITY_ORDER[d.severity] <= SEVERITY_ORDER[worst]]
            if stopping:
                lines = "; ".join(f"{d.code} {d.message}" for d in stopping[:3])
                more = f" (and {len(stopping) - 3} more)" if len(stopping) > 3 else ""
                raise BNLintError(
                    f"bnlint stopped fit() before the first step (fail_on={self.fail_on!r}): {lines}{more}",
                    self.report,
                )

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._batches += 1
        if self._first_step_done:
            return
        self._first_step_done = True
        self._sync()
        for watched in self._watched:
            updated = self._moved(watched)
            self.measured.append(
                {"layer": watched.layer.path, "predicted_trains": watched.predicted, "updated": updated}
            )
        wrong = [
            m for m in self.measured if m["predicted_trains"] is not None and m["predicted_trains"] != m["updated"]
        ]
        if wrong:
            finding = self._mismatch(wrong)
            self._result.diagnostics.append(finding)
            self._publish([finding])
            self._update_report()

    def on_train_end(self, logs: dict | None = None) -> None:
        if self._result is None:
            return
        self._sync()
        steps = self._steps_taken()
        planned = self.params.get("epochs", 0) * (self.params.get("steps") or 0) or None
        self.drift = self._drift(steps, planned)
        for entry in self.drift:
            line = describe_drift(entry)
            LOGGER.info(line)
            if self.verbose:
                print(f"bnlint: {line}")
        self._final_statistics()
        self._update_report()

    # Hooks bnlint does not use; both generations call them.
    def _ignore(self, *args: Any, **kwargs: Any) -> None:
        return None

    _ignore._is_default = True  # Keras 3 keeps async dispatch for hooks marked as defaults
    on_epoch_begin = on_epoch_end = on_train_batch_begin = _ignore
    on_test_begin = on_test_end = on_test_batch_begin = on_test_batch_end = _ignore
    on_predict_begin = on_predict_end = on_predict_batch_begin = on_predict_batch_end = _ignore
    on_batch_begin = on_batch_end = _ignore

    def _implements_train_batch_hooks(self) -> bool:  # tf_keras asks before calling batch hooks
        return True

    def _implements_test_batch_hooks(self) -> bool:
        return False

    def _implements_predict_batch_hooks(self) -> bool:
        return False

    # The work.
    def _watch(self, layer: Layer) -> _Watched:
        predicted = bn_mode(layer, self._graph.generation, self._graph.keras_version).updates_stats
        try:
            obj = live.live_layer(self.model, layer.path)
        except LookupError:
            return _Watched(layer, None, predicted, {})
        return _Watched(layer, obj, predicted, statistics(obj))

    def _moved(self, watched: _Watched) -> bool:
        now = statistics(watched.live) if watched.live is not None else {}
        return any(not np.array_equal(now[name], watched.start[name]) for name in watched.start if name in now)

    def _sync(self) -> None:
        """Keras 3 on JAX keeps the training state outside the variables until asked."""
        sync = getattr(self.model, "jax_state_sync", None)
        if callable(sync):
            sync()

    def _steps_taken(self) -> int:
        now = live.iterations(self.model)
        if now is not None and self._iterations_at_start is not None and now > self._iterations_at_start:
            return now - self._iterations_at_start
        return self._batches

    def _mismatch(self, wrong: list[dict[str, Any]]) -> Diagnostic:
        first = wrong[0]
        did = "updated" if first["updated"] else "did not update"
        expected = "predicted it would not" if first["updated"] else "predicted it would"
        others = f" (and {len(wrong) - 1} more BN layers)" if len(wrong) > 1 else ""
        # A model that has trained before may run the train function of an earlier fit(): Keras
        # makes a new one only in compile(), and it keeps the trainable flags of its first step.
        stale = bool(self._iterations_at_start)
        why = (
            f" The model had trained before ({self._iterations_at_start} optimizer steps): Keras reuses the "
            "train function of an earlier fit() until compile() is called, so a trainable change made since "
            "then is not in effect until the model is compiled again."
            if stale
            else " Please report it at https://github.com/bnlint/bnlint/issues with the Keras version and "
            "how the model was built: it is a bnlint bug or a Keras behaviour bnlint does not know yet."
        )
        return Diagnostic(
            code=MISMATCH[0],
            name=MISMATCH[1],
            severity=Severity.WARNING if stale else Severity.ERROR,
            message=f"BN layer '{first['layer']}' {did} its moving statistics in the first step{others}",
            layer=first["layer"],
            detail=f"bnlint {expected}, from the model's trainable flags and calls.{why}",
        )

    def _drift(self, steps: int, planned: int | None) -> list[dict[str, Any]]:
        """Per pretrained base: how far its BN statistics moved (in the pretrained standard
        deviations) and the fraction of the pretrained statistics left, m^(steps in which
        the layer updated), beside BN002's prediction m^(planned steps)."""
        groups: dict[str, list[_Watched]] = {}
        for watched in self._watched:
            if watched.live is None or set(watched.start) != set(STATISTICS):
                continue
            if statistics_state(self._graph, [watched.layer]) != "stored":
                continue  # statistics at their initial values: nothing pretrained to lose
            base = self._graph.base_of(watched.layer)
            groups.setdefault(base.path if base is not None else self._graph.root.path, []).append(watched)
        entries = []
        for base, members in groups.items():
            shifts, left, predicted, updated = [], [], [], 0
            for watched in members:
                end = statistics(watched.live)
                epsilon = float(watched.layer.config.get("epsilon", 1e-3))
                shifts.append(
                    layer_shift(
                        end["moving_mean"],
                        end["moving_variance"],
                        watched.start["moving_mean"],
                        watched.start["moving_variance"],
                        epsilon,
                    )
                )
                m = momentum_of(watched.layer)
                moved = self._moved(watched)
                updated += moved
                left.append(momentum.remaining(m, steps) if moved else 1.0)
                if planned:
                    predicted.append(momentum.remaining(m, planned) if watched.predicted else 1.0)
            entries.append(
                {
                    "base": base,
                    "bn_layers": len(members),
                    "updated": updated,
                    "steps": steps,
                    "left": float(np.mean(left)),
                    "predicted_left": float(np.mean(predicted)) if predicted else None,
                    "mean_shift": float(np.mean([s.mean_shift for s in shifts])),
                    "log_var_ratio": float(np.mean([s.log_var_ratio for s in shifts])),
                }
            )
        return entries

    def _final_statistics(self) -> None:
        """BN006 on the statistics the run leaves (NaN/Inf, negative variance)."""
        rules = [rule for rule in self.rules if rule.code == "BN006"]
        if not rules:
            return
        # The same graph, its BN variables read again (the config did not change in fit()).
        graph = dataclasses.replace(
            self._graph, weights=BNWeights(live.LiveWeights(self.model, self._graph.root)), notes=[]
        )
        final = live.checked(graph, from_options("fit()"), rules)
        known = {(d.code, d.layer, d.message) for d in self._result.diagnostics}
        new = [d for d in final.diagnostics if (d.code, d.layer, d.message) not in known]
        for d in new:
            d.message = f"after training: {d.message}"
        self._result.diagnostics.extend(new)
        self._publish(new)

    def _publish(self, findings: list[Diagnostic]) -> None:
        for d in findings:
            where = f" [{d.layer}]" if d.layer else ""
            text = f"{d.code} {d.name}{where}: {d.full_message}"
            LOGGER.log(logging.WARNING if d.severity is not Severity.INFO else logging.INFO, text)
            warnings.warn(text, BNLintWarning, stacklevel=_caller_level())

    def _update_report(self) -> None:
        in_order(self._result)
        self.report = live.Report(report([self._result]))


def statistics(layer: Any) -> dict[str, np.ndarray]:
    """Copies of a BN layer's moving statistics (a copy: the variables change in place)."""
    return {
        name: np.array(variable.numpy(), copy=True)
        for variable in layer.weights
        if (name := live.short_name(variable)) in STATISTICS
    }


def describe_drift(entry: dict[str, Any]) -> str:
    pct = momentum.pct
    predicted = f" (BN002 predicted {pct(entry['predicted_left'])})" if entry["predicted_left"] is not None else ""
    return (
        f"drift of the pretrained BN statistics in '{entry['base']}' over {entry['steps']} steps: "
        f"{entry['updated']} of {entry['bn_layers']} layers updated, {pct(entry['left'])} of the pretrained "
        f"statistics left{predicted}, means moved {entry['mean_shift']:.3g} standard deviations on average, "
        f"log variance ratio {entry['log_var_ratio']:.3g}"
    )


def _caller_level() -> int:
    """The warnings stacklevel of the first frame outside bnlint and Keras: the user's fit()."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__", "").split(".")[0] in INTERNAL:
        frame, level = frame.f_back, level + 1
    return level
