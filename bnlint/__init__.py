"""bnlint: find and fix BatchNormalization pitfalls in Keras models and training code."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .errors import BNLintError, BNLintWarning

__version__ = "0.1.0"


def lint(
    paths: str | Iterable[str],
    *,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    dataset_size: int | None = None,
    batch_size: int | None = None,
    epochs: int | None = None,
    steps: int | None = None,
    min_batch_size: int | None = None,
    horizon_factor: int | None = None,
    keras_version: str | None = None,
) -> dict[str, Any]:
    """Lint models, scripts and notebooks; returns the same data as `--format json`."""
    from .context import from_options
    from .linting import Options, lint_paths, report

    context = from_options(
        "API argument",
        dataset_size=dataset_size,
        batch_size=batch_size,
        epochs=epochs,
        steps=steps,
        min_batch_size=min_batch_size,
        horizon_factor=horizon_factor,
        keras_version=keras_version,
    )
    options = Options(select=tuple(select), ignore=tuple(ignore), context=context)
    return report(lint_paths([paths] if isinstance(paths, str) else list(paths), options))


def fix(
    paths: str | Iterable[str],
    *,
    unsafe_fixes: bool = False,
    renorm: bool = False,
    diff: bool = False,
    output: str | None = None,
    backup: bool = False,
    verify: bool = False,
    trust_model_code: bool = False,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    **context: Any,
) -> dict[str, Any]:
    """Fix models (in place, or into `output`); returns the same data as
    `--fix --format json` (`diff=True`: compute the changes, write nothing). `context`
    takes lint()'s dataset_size, batch_size, epochs, steps, min_batch_size, horizon_factor, keras_version."""
    from .context import from_options
    from .fixing import FixOptions, fix_paths, report
    from .linting import Options

    options = Options(select=tuple(select), ignore=tuple(ignore), context=from_options("API argument", **context))
    wanted = FixOptions(
        unsafe=unsafe_fixes,
        renorm=renorm,
        write=not diff,
        output=output,
        backup=backup,
        verify=verify,
        trust_code=trust_model_code,
    )
    return report(fix_paths([paths] if isinstance(paths, str) else list(paths), options, wanted))


__all__ = ["BNLintError", "BNLintWarning", "__version__", "check", "fix", "lint"]


def check(
    model: Any,
    *,
    dataset_size: int | None = None,
    batch_size: int | None = None,
    epochs: int | None = None,
    steps: int | None = None,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
) -> dict[str, Any]:
    """The model rules on a live Keras 3 or tf_keras model object (nothing saved or run);
    returns what `lint()` returns for a file, the model's name as its path."""
    from .context import from_options
    from .linting import report
    from .live import Report, checked, graph_of
    from .rules import select as chosen

    context = from_options("API argument", dataset_size=dataset_size, batch_size=batch_size, epochs=epochs, steps=steps)
    return Report(report([checked(graph_of(model), context, chosen(list(select), list(ignore)))]))
