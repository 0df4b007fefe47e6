"""The `probe` and `recalibrate` commands' options and their wiring: read the model as
data, open the data, then run the model with its Keras (bnlint.probe) and render or
write the result. Kept apart so cli.py stays a list of commands; TensorFlow is imported
only once a command runs (never by `import bnlint.cli`)."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import click

from .errors import InputError

DATA_OPTIONS = (
    click.option(
        "--data",
        "data_path",
        required=True,
        type=click.Path(),
        help="A folder of images (flat or in class sub-folders), a .npy array (N, H, W, C) or a .npz (array x); "
        "for a model that does not take images, an array of its samples (N, features...).",
    ),
    click.option(
        "--preprocess",
        type=click.Choice(["none", "caffe", "tf", "torch"]),
        default="none",
        show_default=True,
        help="keras.applications' conventions: caffe = RGB->BGR minus the ImageNet means (VGG, ResNet); "
        "tf = x/127.5-1 (MobileNet, Inception, Xception); torch = x/255, ImageNet mean/std (DenseNet).",
    ),
    click.option(
        "--image-size",
        nargs=2,
        type=click.IntRange(min=1),
        metavar="H W",
        help="Resize images to H x W [the model's input size].",
    ),
    click.option(
        "--batch-size", type=click.IntRange(min=1), default=32, show_default=True, help="Samples per forward pass."
    ),
    click.option(
        "--max-samples",
        type=click.IntRange(min=1),
        help="Use at most N samples (a fixed random subset, so every class folder counts).",
    ),
    click.option(
        "--trust-model-code",
        is_flag=True,
        help="Load a model that holds code (BN013: Lambda bytecode, custom objects); Keras' safe mode stays on.",
    ),
    click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True),
)


def data_options(command: Callable) -> Callable:
    for option in reversed(DATA_OPTIONS):
        command = option(command)
    return command


def guarded(model: str, work: Callable[[], None]) -> None:
    """Run a command; any failure is one line `PATH: error: reason` and exit status 2."""
    try:
        work()
    except InputError as exc:
        click.echo(f"{getattr(exc, 'path', None) or model}: error: {exc}", err=True)
        sys.exit(2)
    except MemoryError:
        click.echo(f"{model}: error: ran out of memory (try a smaller --batch-size)", err=True)
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 - never a traceback for the user
        if os.environ.get("BNLINT_TRACEBACK"):
            raise
        from .probe import one_line

        click.echo(f"{model}: error: internal error ({one_line(exc)}); please report it", err=True)
        sys.exit(2)


@contextlib.contextmanager
def progress(total: int, description: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr, on a terminal only (a log or a pipe gets no bar)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    if not console.is_terminal:
        yield lambda count: None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda count: bar.advance(task, count)


def _prepare(model: str, options: dict[str, Any], trust: bool) -> tuple[Any, Any]:
    """The model's description and the opened data, checked against each other: all
    without TensorFlow, so bad input fails fast."""
    from .probe import describe
    from .probe_data import feed_for, open_data

    info = describe(model)
    if info.code and not trust:
        raise InputError(
            f"running the model loads it with Keras, which would run the code it holds ({info.code[0]}); "
            "pass --trust-model-code if you trust its source",
            info.keras_version,
        )
    data = open_data(options["data_path"], options["max_samples"])
    if info.input_shape is not None:
        feed_for(data, info.input_shape, options["image_size"], options["preprocess"], model)
    return info, data


def _loaded(info: Any, data: Any, options: dict[str, Any]) -> tuple[Any, list, Any]:
    """The model loaded by its Keras, its BN layers, and how the data feeds it."""
    from .probe import bn_layers, import_keras, input_shape, load_model
    from .probe_data import feed_for

    keras = import_keras(info.generation)
    model = load_model(keras, info.path)
    feed = feed_for(data, input_shape(model), options["image_size"], options["preprocess"], info.path)
    bns = bn_layers(keras, model)
    unknown = [bn.path for bn in bns if bn.path not in info.bn_paths]
    if unknown:
        raise InputError(f"Keras names a BN layer '{unknown[0]}' that bnlint does not find in the file")
    return model, bns, feed


def run_probe(model: str, options: dict[str, Any], plot_path: str | None) -> None:
    from .probe import json_ready, measure, probe_report, quiet_native_logs
    from .probe_data import batches

    if plot_path is not None:
        from .output.probe_plot import check_available

        check_available()
    info, data = _prepare(model, options, options["trust_model_code"])
    with quiet_native_logs():
        loaded, bns, feed = _loaded(info, data, options)
        with progress(data.count, "probing") as advance:
            measured = measure(loaded, bns, batches(data, feed, options["batch_size"]), on_batch=advance)
    report = probe_report(info, bns, measured, data.count)
    if plot_path is not None:
        from .output.probe_plot import plot

        plot(report, plot_path)
    if options["output_format"] == "json":
        click.echo(json.dumps(json_ready(report), indent=2))
        return
    from rich.console import Console

    from .output.probe_text import render_probe

    render_probe(report, options["data_path"], Console(highlight=False))
    missed = [bn.path for index, bn in enumerate(bns) if index not in measured.moments]
    if missed:
        click.echo(f"note: {len(missed)} BN layer(s) never ran on this input, e.g. {missed[0]}", err=True)


def run_recalibrate(model: str, options: dict[str, Any], output: str | None, backup: bool, prior: int) -> None:
    from .detect import kind_of
    from .fixing import BACKUP_SUFFIX, check_output
    from .probe import Plan, json_ready, plan, quiet_native_logs, recalibrate, recalibration_report
    from .probe_data import batches
    from .writers import open_model

    if kind_of(model) == "savedmodel":
        raise InputError(
            "a SavedModel cannot be recalibrated: bnlint writes moving statistics into .keras and .h5 files only "
            "(save the model as .keras and recalibrate that)"
        )
    info, data = _prepare(model, options, options["trust_model_code"])
    target = output or model
    check_output(model, target, info.kind)
    model_file = open_model(model, info.kind)  # its snapshot now: a change while Keras runs aborts the write
    with quiet_native_logs():
        loaded, bns, feed = _loaded(info, data, options)
        first = next(batches(data, feed, 1))
        the_plan: Plan = plan(loaded, bns, first)
        passes = len(the_plan.stages)
        with progress(data.count * passes, f"recalibrating ({passes} passes)") as advance:
            results = recalibrate(
                loaded,
                bns,
                lambda: batches(data, feed, options["batch_size"]),
                data.count,
                prior,
                the_plan,
                advance,
            )
    from .diagnostics import Edit

    edits = [
        Edit("weights", r.bn.path, key, new={"values": values})
        for r in results
        for key, values in (("moving_mean", r.mean), ("moving_variance", r.variance))
    ]
    kept = model + BACKUP_SUFFIX if backup and os.path.abspath(target) == os.path.abspath(model) else None
    from .edits import Unsupported

    try:
        model_file.save(target, edits, backup=kept)
    except Unsupported as exc:
        raise InputError(f"cannot write the statistics: {exc}; nothing was written") from None
    except OSError as exc:
        raise InputError(f"cannot write {target} ({exc.strerror or exc}); the original is untouched") from None
    report = recalibration_report(info, target, data.count, prior, passes, results)
    if options["output_format"] == "json":
        click.echo(json.dumps(json_ready(report), indent=2))
        return
    from rich.console import Console

    from .output.probe_text import render_recalibration

    render_recalibration(report, options["data_path"], kept, Console(highlight=False))
