"""Wire one lint run together: discover inputs, read each, run the rules.

Data flows one way: path -> kind -> reader -> model graph -> rules -> diagnostics.
This module owns the per-file error boundary: whatever goes wrong with one input
becomes that file's one-line error and the other inputs are still linted.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from . import __version__
from .context import FROM_OPTIMIZER, TrainingContext, find_pyproject, from_options, load_settings
from .detect import discover, kind_of
from .diagnostics import Diagnostic, Severity
from .errors import InputError
from .limits import DEFAULTS as DEFAULT_LIMITS
from .limits import Limits, from_settings, in_force
from .rules import Rule, select

SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass
class FileResult:
    path: str
    kind: str | None = None
    keras_version: str | None = None
    error: str | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    context: str | None = None
    notes: list[str] = field(default_factory=list)  # what could not be checked, e.g. unreadable weights
    partial: bool = False  # an error stopped the linting part way (a syntax error): findings are from before it

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "keras_version": self.keras_version,
            "error": self.error,
            "diagnostics": [d.to_json() for d in self.diagnostics],
            **({"notes": self.notes} if self.notes else {}),  # only when something could not be checked
        }


@dataclass(frozen=True)
class Options:
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    context: TrainingContext = TrainingContext()
    limits: tuple[tuple[str, int], ...] = ()  # `--limit NAME=N`: over [tool.bnlint] and the defaults


def lint_paths(paths: Iterable[str], options: Options) -> list[FileResult]:
    return [lint_file(path, options) for path in discover(list(paths))]


def lint_file(path: str, options: Options) -> FileResult:
    result = FileResult(path=path)
    with error_boundary(result):
        result.kind = kind_of(path)
        context, rules, limits = _settings_for(path, options)
        with in_force(limits):
            if result.kind in ("script", "notebook"):
                _lint_script(path, result, rules, context)
            else:
                _lint_model_isolated(path, result, rules, context, limits.max_seconds)
    result.diagnostics.sort(key=lambda d: (d.cell or 0, d.line or 0, d.layer or "", SEVERITY_ORDER[d.severity], d.code))
    return result


@contextlib.contextmanager
def error_boundary(result: FileResult) -> Iterator[None]:
    """Whatever goes wrong with one input becomes its one-line error (any verb: check, inspect)."""
    try:
        yield
    except InputError as exc:
        result.error = str(exc)
        result.keras_version = result.keras_version or exc.keras_version
    except (OSError, MemoryError) as exc:
        result.error = f"cannot read ({exc})"
    except Exception as exc:  # noqa: BLE001 - one bad input must never hide the others
        if os.environ.get("BNLINT_TRACEBACK"):  # for bnlint's developers and its fuzzers
            raise
        result.error = f"internal error while linting ({type(exc).__name__}: {exc}); please report it"


def _settings_for(path: str, options: Options) -> tuple[TrainingContext, list[Rule], Limits]:
    """Merge CLI options with [tool.bnlint] from the nearest pyproject.toml."""
    context, select_codes, ignore_codes = options.context, list(options.select), list(options.ignore)
    limits = DEFAULT_LIMITS
    pyproject = find_pyproject(path)
    if pyproject:
        settings = load_settings(pyproject)
        select_codes = select_codes or _codes(settings.pop("select", []), pyproject)
        ignore_codes = ignore_codes or _codes(settings.pop("ignore", []), pyproject)
        limit_keys = [key for key in settings if key.startswith("max_")]
        limits = from_settings(limits, {key: settings.pop(key) for key in limit_keys}, pyproject)
        file_context = from_options("pyproject.toml", **settings)
        context = context.merged_under(source="pyproject.toml", **_values(file_context))
    limits = from_settings(limits, dict(options.limits), "--limit")
    return context, select(select_codes, ignore_codes), limits


def limits_for(path: str, options: Options) -> Limits:
    """The limits in force for one file (for verbs that read it again: --fix, inspect)."""
    return _settings_for(path, options)[2]


def _codes(value: Any, source: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"{source}: select/ignore must be a list of rule codes")
    return value


def _values(context: TrainingContext) -> dict[str, Any]:
    names = ("dataset_size", "batch_size", "epochs", "steps", "keras_version")
    return {name: getattr(context, name) for name in names} | (
        {"min_batch_size": context.min_batch_size} if "min_batch_size" in context.sources else {}
    )


def _lint_model_isolated(
    path: str, result: FileResult, rules: list[Rule], context: TrainingContext, seconds: int
) -> None:
    """_lint_model in a child process with a deadline (see isolation.py)."""
    from .isolation import run_isolated
    from .readers import load_reader

    load_reader(result.kind)

    def work() -> FileResult:
        _lint_model(path, result, rules, context)
        return result

    done = run_isolated(work, seconds)
    result.keras_version, result.context = done.keras_version, done.context
    result.diagnostics, result.notes = done.diagnostics, done.notes


def _lint_model(path: str, result: FileResult, rules: list[Rule], context: TrainingContext) -> None:
    from .readers import read_model  # h5py is imported only when a model is read

    with read_model(path, result.kind) as graph:  # closing releases the lazily opened weight files
        result.keras_version = graph.keras_version
        if graph.optimizer_iterations:
            context = context.merged_under(source=FROM_OPTIMIZER, steps=graph.optimizer_iterations)
        if graph.input_batch_size():
            context = context.merged_under(source="the model's Input signature", batch_size=graph.input_batch_size())
        result.context = context.describe()
        for rule in rules:
            if rule.check_model is not None:
                result.diagnostics.extend(rule.check_model(graph, context))
        result.notes = graph.all_notes()
        if not graph.root.children:  # a subclassed model saved with `"config": {}`
            result.notes.insert(
                0,
                f"the file records no layers for '{graph.root.name}' ({graph.root.class_name}): a subclassed "
                "model whose architecture is not serialized; none of its BN layers could be checked",
            )


def _lint_script(path: str, result: FileResult, rules: list[Rule], context: TrainingContext) -> None:
    from .scripts.pipeline import lint_script

    checks = [rule.check_script for rule in rules if rule.check_script is not None]
    found = lint_script(path, result.kind, checks, context, context.keras_version)
    result.keras_version = found.facts.keras_version if found.facts else None
    result.diagnostics.extend(found.diagnostics)
    result.notes = found.notes
    result.error = found.error  # set after the findings: a syntax error is still exit status 2
    result.partial = found.error is not None
    # Each fit() call brings its own batch size and horizon; only given settings are global.
    given = {k for k in context.sources if k != "keras_version"}
    result.context = f"{found.description}; " + (
        f"given: {context.describe()}" if given else "batch sizes and horizons from the script's own calls"
    )


def exit_status(results: list[FileResult]) -> int:
    if any(r.error for r in results):
        return 2
    return 1 if any(r.diagnostics for r in results) else 0


def report(results: list[FileResult]) -> dict[str, Any]:
    """The JSON document of DESIGN.md."""
    return {"version": __version__, "files": [r.to_json() for r in results]}
