"""Wire one lint run together: discover inputs, read each, run the rules.

Data flows one way: path -> kind -> reader -> model graph -> rules -> diagnostics.
This module owns the per-file error boundary: whatever goes wrong with one input
becomes that file's one-line error and the other inputs are still linted.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from importlib import import_module
from typing import Any, TypeVar

from . import __version__
from .config import Config, forget
from .config import find as find_config
from .config import load as load_config
from .context import FROM_OPTIMIZER, THRESHOLDS, TrainingContext, from_options
from .detect import discover, kind_of
from .diagnostics import Diagnostic, Severity
from .errors import InputError
from .limits import DEFAULTS as DEFAULT_LIMITS
from .limits import Limits, from_settings, in_force
from .rules import Rule, select

T = TypeVar("T")

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
    extend_select: tuple[str, ...] = ()
    config: str | None = None  # --config PATH: instead of the nearest configuration file
    force_exclude: bool = False  # apply `exclude` to paths named on the command line too


def lint_paths(paths: Iterable[str], options: Options, jobs: int = 1) -> list[FileResult]:
    """Lint every input; with jobs > 1, in that many processes, in the same order as a
    serial run (one file is always linted here: no start-up cost)."""
    files = files_to_lint(paths, options)
    return in_parallel(partial(lint_file, options=options), files, jobs, _unlinted, options)


def _unlinted(path: str, error: str) -> FileResult:
    return FileResult(path, error=error)


def in_parallel(
    work: Callable[[str], T], files: list[str], jobs: int, failed: Callable[[str, str], T], options: Options
) -> list[T]:
    """work(path) for every file, in `jobs` forked processes and in the order of `files`.
    A worker killed mid-run (the out-of-memory killer) breaks the pool: the files not done are
    then each run in a forked child of their own, and the one that dies is `failed(path, why)`."""
    if jobs <= 1 or len(files) <= 1:
        return [work(path) for path in files]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    method = "fork" if sys.platform.startswith("linux") else "spawn"
    workers = min(jobs, len(files))
    if method == "fork":
        _preload(files)
    # Tasks of a few files: fewer round trips than one a file, and still small enough that
    # both processes stay busy to the end (a 100 MB model among 1,000 scripts).
    size = max(1, min(16, len(files) // (workers * 8)))
    chunks = [files[start : start + size] for start in range(0, len(files), size)]
    results: list[T] = []
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method)) as pool:
        futures = [pool.submit(_run_chunk, work, chunk) for chunk in chunks]
        for chunk, future in zip(chunks, futures, strict=True):
            try:
                results.extend(future.result())
            except BrokenProcessPool:
                results.extend(_alone(work, path, failed, options) for path in chunk)
    return results


def _run_chunk(work: Callable[[str], T], paths: list[str]) -> list[T]:
    return [work(path) for path in paths]


def _preload(files: list[str]) -> None:
    """Import what the files need before the workers fork, so each starts with it loaded."""
    kinds = set()
    for path in files:
        with contextlib.suppress(InputError):  # a path that is no input is its own error later
            kinds.add(kind_of(path))
    if kinds & {"script", "notebook"}:
        import_module("bnlint.scripts.pipeline")
    for kind in kinds - {"script", "notebook"}:
        import_module("bnlint.readers").load_reader(kind)


def _alone(work: Callable[[str], T], path: str, failed: Callable[[str, str], T], options: Options) -> T:
    """work(path) in a forked child of its own: a file that kills its process is that file's
    error and nothing else is lost."""
    from .isolation import run_isolated

    try:
        return run_isolated(lambda: work(path), limits_for(path, options).max_seconds)  # the file's max-seconds
    except InputError as exc:
        return failed(path, str(exc))


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def files_to_lint(paths: Iterable[str], options: Options) -> list[str]:
    """What a run lints: directories searched, `exclude` applied to what the search finds
    (and to the paths given too with --force-exclude, as pre-commit passes them)."""
    forget()  # the start of every run
    given = list(paths)
    found = []
    for path in discover(given):
        named = path in given
        if (not named or options.force_exclude) and _config_of(path, options).excluded(path):
            continue
        found.append(path)
    return found


def _config_of(path: str, options: Options) -> Config:
    return load_config(options.config if options.config else find_config(path))


def lint_file(path: str, options: Options, text: str | None = None) -> FileResult:
    """One input's findings; `text`, for a script, is linted in place of its file."""
    result = FileResult(path=path)
    with error_boundary(result):
        result.kind = kind_of(path)
        settings = settings_for(path, options)
        with in_force(settings.limits):
            if result.kind in ("script", "notebook"):
                _lint_script(path, result, settings.rules, settings.context, text)
            else:
                _lint_model_isolated(path, result, settings.rules, settings.context, settings.limits.max_seconds)
        # ignore-layers: the model-side suppression (a model file has no comments)
        result.diagnostics = [d for d in result.diagnostics if not settings.config.ignores_layer(d.layer)]
    in_order(result)
    return result


def in_order(result: FileResult) -> None:
    """Findings by position (cell, line, layer), then severity and code."""
    result.diagnostics.sort(key=lambda d: (d.cell or 0, d.line or 0, d.layer or "", SEVERITY_ORDER[d.severity], d.code))


@contextlib.contextmanager
def error_boundary(result: FileResult) -> Iterator[None]:
    """Whatever goes wrong with one input becomes its one-line error (any verb: check, inspect)."""
    try:
        yield
    except InputError as exc:
        result.error = str(exc)
        result.keras_version = result.keras_version or exc.keras_version
    except MemoryError:
        result.error = "ran out of memory while linting it (please report the file)"
    except OSError as exc:
        result.error = f"cannot read ({exc})"
    except Exception as exc:  # noqa: BLE001 - one bad input must never hide the others
        if os.environ.get("BNLINT_TRACEBACK"):  # for bnlint's developers and its fuzzers
            raise
        result.error = f"internal error while linting ({type(exc).__name__}: {exc}); please report it"


@dataclass(frozen=True)
class Settings:
    """Everything that governs one file: its configuration merged under the command line."""

    config: Config
    context: TrainingContext
    rules: list[Rule]
    limits: Limits


def settings_for(path: str, options: Options) -> Settings:
    """The command line over the nearest configuration (or --config) over the defaults."""
    config = load_config(options.config if options.config else find_config(path))
    where = os.path.basename(config.source) if config.source else "defaults"
    file_context = from_options(where, **config.context)
    context = options.context.merged_under(source=where, **_values(file_context))
    select_codes = list(options.select or config.select) + list(options.extend_select or config.extend_select)
    if (options.extend_select or config.extend_select) and not (options.select or config.select):
        select_codes = []  # extending "everything" is everything
    ignore_codes = list(options.ignore or config.ignore) + list(config.ignored_codes(path))
    limits = from_settings(DEFAULT_LIMITS, config.limits, config.source or "defaults")
    limits = from_settings(limits, dict(options.limits), "--limit")
    return Settings(config, context, select(select_codes, ignore_codes), limits)


def limits_for(path: str, options: Options) -> Limits:
    """The limits in force for one file (for verbs that read it again: --fix, inspect)."""
    return settings_for(path, options).limits


def _values(context: TrainingContext) -> dict[str, Any]:
    """The fields a context's sources set (thresholds left at their defaults are not)."""
    names = ("dataset_size", "batch_size", "epochs", "steps", "keras_version", *THRESHOLDS)
    return {name: getattr(context, name) for name in names if context.given(name)}


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
        check_graph(graph, result, rules, context)


def check_graph(graph: Any, result: FileResult, rules: list[Rule], context: TrainingContext) -> None:
    """The model rules on a model graph (read from a file, or built from a live model)."""
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


def _lint_script(
    path: str, result: FileResult, rules: list[Rule], context: TrainingContext, text: str | None = None
) -> None:
    from .scripts.pipeline import lint_script

    checks = [rule.check_script for rule in rules if rule.check_script is not None]
    found = lint_script(path, result.kind, checks, context, context.keras_version, text)
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


def exit_status(results: list[FileResult], fail_on: Severity = Severity.INFO, exit_zero: bool = False) -> int:
    """2 for a file that could not be (wholly) read; 1 for a finding at least as severe as
    `fail_on` (unless exit_zero); else 0."""
    if any(r.error for r in results):
        return 2
    worst = SEVERITY_ORDER[fail_on]
    failing = any(SEVERITY_ORDER[d.severity] <= worst for r in results for d in r.diagnostics)
    return 1 if failing and not exit_zero else 0


def report(results: list[FileResult]) -> dict[str, Any]:
    """The JSON document of DESIGN.md."""
    return {"version": __version__, "files": [r.to_json() for r in results]}
