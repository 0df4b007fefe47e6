"""Command line: `bnlint [check] PATH...`, `rules [CODE]`, `inspect`, `probe` and `recalibrate`.

Only wiring lives here: options become lint Options, results go to a formatter.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sys

import click

from . import __version__
from .context import from_options
from .errors import InputError
from .fix_cli import fix_options
from .fix_cli import requested as fixing_requested
from .fix_cli import run as run_fixes
from .probe_cli import data_options

FORMATS = ("text", "json")  # `rules` and `inspect`
OUTPUT_FORMATS = ("full", "concise", "json", "sarif", "github", "gitlab")


class DefaultGroup(click.Group):
    """`bnlint model.h5` means `bnlint check model.h5`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args = ["check", *args]
        elif not args:
            args = ["check"]
        return super().parse_args(ctx, args)


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bnlint")
def main() -> None:
    """Find and fix BatchNormalization pitfalls in Keras models, training scripts and notebooks."""


LIMIT_OPTION = click.option(
    "--limit",
    multiple=True,
    metavar="NAME=N",
    help="Raise or lower a limit on what a file may make bnlint read, e.g. max-member-mib=64 "
    "(names: max-member-mib, max-json-depth, max-layers, max-nodes, max-script-mib, max-notebook-mib).",
)


def _limits(values: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    from .limits import DEFAULTS, from_settings, parse_option

    parsed = tuple(parse_option(value) for value in values)
    from_settings(DEFAULTS, dict(parsed), "--limit")  # a wrong name is one usage error, not one per file
    return parsed


def _codes(value: str | None) -> tuple[str, ...]:
    return tuple(code.strip() for code in (value or "").split(",") if code.strip())


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--select", help="Comma-separated rule codes or prefixes to run (default: all).")
@click.option("--extend-select", help="Rule codes or prefixes to run on top of the selected ones.")
@click.option("--ignore", help="Comma-separated rule codes or prefixes to skip.")
@click.option(
    "--output-format",
    "--format",
    "output_format",
    type=click.Choice(["text", *OUTPUT_FORMATS]),
    help="full (default on a terminal), concise (one line per finding; default when piped), json, sarif, "
    "github (workflow commands), gitlab (Code Quality report).",
)
@click.option("--output-file", type=click.Path(dir_okay=False), help="Write the output to this file.")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True)
@click.option("--statistics", is_flag=True, help="Count the findings per rule instead of listing them.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even with findings (2 still means a file was unreadable).")
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning", "info"]),
    default="info",
    show_default=True,
    help="The least severity that makes the exit status 1.",
)
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Use this configuration file.")
@click.option("--force-exclude", is_flag=True, help="Apply `exclude` to paths named on the command line too.")
@click.option("--show-settings", is_flag=True, help="Print the settings each file would be linted with, and exit.")
@click.option("--show-files", is_flag=True, help="Print the files that would be linted, and exit.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Processes to lint with [the CPUs available].")
@click.option("--dataset-size", type=click.IntRange(min=1), help="Training samples per epoch.")
@click.option("--batch-size", type=click.IntRange(min=1), help="Training batch size.")
@click.option("--epochs", type=click.IntRange(min=1), help="Planned training epochs.")
@click.option("--steps", type=click.IntRange(min=1), help="Planned optimizer steps (overrides epochs).")
@click.option("--min-batch-size", type=click.IntRange(min=1), help="Smallest batch BN may train on [16].")
@click.option(
    "--horizon-factor",
    type=click.IntRange(min=1),
    help="BN002: time constants 1/(1-m) the training must last for the old statistics to count as forgotten [5].",
)
@click.option("--keras-version", help="Keras that scripts run on, e.g. 3 or 2.15 (default: from imports and installs).")
@LIMIT_OPTION
@fix_options
def check(paths, **flags):
    """Lint saved models (.keras, .h5, SavedModel directories), scripts and notebooks."""
    from .linting import Options, available_cpus, exit_status, files_to_lint, lint_paths, settings_for

    context = from_options(
        "command line",
        **{
            key: flags.pop(key)
            for key in (
                "dataset_size",
                "batch_size",
                "epochs",
                "steps",
                "min_batch_size",
                "horizon_factor",
                "keras_version",
            )
        },
    )
    limits = _limits(flags.pop("limit"))
    options = Options(
        select=_codes(flags.pop("select")),
        ignore=_codes(flags.pop("ignore")),
        extend_select=_codes(flags.pop("extend_select")),
        context=context,
        limits=limits,
        config=flags.pop("config_file"),
        force_exclude=flags.pop("force_exclude"),
    )
    paths = paths or (".",)
    if flags.pop("show_files"):
        for path in files_to_lint(paths, options):
            click.echo(path)
        sys.exit(0)
    if flags.pop("show_settings"):
        from .output.settings import describe

        for path in files_to_lint(paths, options):
            click.echo(describe(path, settings_for(path, options), dict(limits)))
        sys.exit(0)
    fmt, output_file = flags.pop("output_format"), flags.pop("output_file")
    color, statistics = flags.pop("color"), flags.pop("statistics")
    exit_zero, fail_on, jobs = flags.pop("exit_zero"), flags.pop("fail_on"), flags.pop("jobs")
    if fmt in (None, "text"):
        fmt = "full" if output_file is None and sys.stdout.isatty() else "concise"
    if fixing_requested(flags):
        flags["jobs"] = jobs or available_cpus()
        sys.exit(run_fixes(paths, options, flags, "json" if fmt == "json" else fmt))
    if statistics and fmt not in ("full", "concise"):
        raise click.UsageError("--statistics prints text: it cannot be combined with --output-format " + fmt)
    results = lint_paths(paths, options, jobs=jobs or available_cpus())
    from .diagnostics import Severity
    from .output import write

    with _output(output_file) as out:
        write(results, fmt, out, sys.stderr, color, statistics)
    sys.exit(exit_status(results, Severity(fail_on), exit_zero))


@contextlib.contextmanager
def _output(path: str | None):
    """stdout, or the --output-file (written whole, then renamed into place)."""
    if path is None:
        yield sys.stdout
        return
    import io

    buffer = io.StringIO()
    yield buffer
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(buffer.getvalue())
    except OSError as exc:
        raise InputError(f"cannot write --output-file {path} ({exc.strerror or exc})") from None


@main.command()
@click.argument("code", required=False)
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="text", show_default=True)
def rules(code, output_format):
    """List the rules, or print one rule's documentation."""
    from rich.console import Console

    from .rules import RULES
    from .rules.docs import rule_json, rule_markdown

    if code is not None:
        rule = RULES.get(code.upper())
        if rule is None:
            raise click.UsageError(f"unknown rule code '{code}' (see `bnlint rules`)")
        if output_format == "json":
            click.echo(json.dumps(rule_json(rule), indent=2))
        else:
            from rich.markdown import Markdown

            Console().print(Markdown(rule_markdown(rule)))
        return
    if output_format == "json":
        click.echo(json.dumps([rule_json(r) for r in RULES.values()], indent=2))
        return
    console = Console(highlight=False)
    for rule in RULES.values():
        console.print(
            f"[bold]{rule.code}[/] {rule.name} [dim]({rule.severity.value})[/] {rule.summary}", soft_wrap=True
        )


@main.command()
@click.argument("model", type=click.Path())
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="text", show_default=True)
@LIMIT_OPTION
def inspect(model, output_format, limit):
    """Print the BN inventory of a saved model: every BN layer, its settings and statistics."""
    from .inventory import inspect_file

    report, error = inspect_file(model, _limits(limit))
    if error is not None:
        click.echo(f"{model}: error: {error}", err=True)
        if output_format == "json":
            click.echo(json.dumps({"path": model, "keras_version": None, "bn_layers": [], "error": error}, indent=2))
        sys.exit(2)
    if output_format == "json":
        click.echo(json.dumps(report, indent=2))
        return
    from rich.console import Console

    from .output.inventory_table import render

    render(report, Console(highlight=False))


@main.command()
@click.argument("model", type=click.Path())
@data_options
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), help="Also draw the shift per layer to this PNG.")
def probe(model, plot_path, **options):
    """Measure how far DATA is from what each BN layer's moving statistics expect.

    Runs MODEL in inference mode on the data with the Keras that saved it and compares
    each BN layer's input (per-channel mean and variance) with its moving statistics:
    mean shift = mean over channels of |mean - moving_mean| / sqrt(moving_variance + eps),
    log var ratio = mean over channels of |log((var + eps) / (moving_variance + eps))|,
    score = their sum; the overall score is the mean over BN layers. Above the threshold
    the data is "far": let BN adapt (or `bnlint recalibrate`); else keep BN frozen.

    --format json: {"path", "keras_version", "samples", "score", "threshold", "verdict",
    "layers": [{"path", "channels", "mean_shift", "log_var_ratio", "score"}]}.
    """
    from .probe_cli import guarded, run_probe

    guarded(model, lambda: run_probe(model, options, plot_path))


@main.command()
@click.argument("model", type=click.Path())
@data_options
@click.option("-o", "--output", type=click.Path(), help="Write the recalibrated model here instead of in place.")
@click.option("--backup", is_flag=True, help="In place: keep the original as MODEL.bak.")
@click.option(
    "--prior",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Keep the stored statistics as N pseudo-samples beside the data's (0: replace them).",
)
def recalibrate(model, output, backup, prior, **options):
    """Re-estimate every BN layer's moving statistics on DATA (AdaBN) and write them back.

    Layer by layer in network order, each with the earlier ones already recalibrated:
    the exact mean and population variance of its input over all the data (no moving
    average). --prior N mixes the stored statistics in as N pseudo-samples (Schneider et
    al. 2020). Only moving_mean and moving_variance change; .keras and .h5 files of
    Keras 3 and tf_keras, written atomically.

    Cost: one pass over the data per stage, a stage being BN layers that do not feed
    each other (read off the traced graph); each pass runs the graph only up to the
    stage's BN inputs. Most CNNs chain their BN layers, so it is about one pass per BN
    layer: on 200 images and 2 CPU cores, MobileNetV2 (96x96) 52 passes in 30 s,
    DenseNet121 (64x64) 121 passes in 3.5 minutes. --max-samples bounds it.

    --format json: {"path", "output", "keras_version", "samples", "prior", "passes",
    "layers": [{"path", "channels", "mean_shift_before", "log_var_ratio_before",
    "score_before", "score_after"}]} (before: the data against the stored statistics;
    after: against the written ones, 0 without --prior).
    """
    from .probe_cli import guarded, run_recalibrate

    guarded(model, lambda: run_recalibrate(model, options, output, backup, prior))


def tune_interpreter() -> None:
    """Settings for a bnlint process (the command line, and benchmarks that time its
    steps); never applied on `import bnlint`, which must not change a user's process."""
    # A lint allocates many small objects (model configs, ASTs) that reference counting
    # frees: collect cycles less often (parsing a 0.5 MB config: 18 -> 13 ms).
    gc.set_threshold(10_000, 50, 50)
    # bnlint does no linear algebra, but importing numpy starts an OpenBLAS thread per
    # core (~25 ms on 2 cores, more on big machines).
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def run() -> None:
    tune_interpreter()
    try:
        main(standalone_mode=True)
        status: object = 0
    except InputError as exc:  # a bad [tool.bnlint] setting or option value
        click.echo(f"bnlint: error: {exc}", err=True)
        status = 2
    except SystemExit as exc:  # click ends every command this way
        status = exc.code
    _exit(status)


def _exit(status: object) -> None:
    """Exit without tearing the interpreter down (freeing every object, unloading numpy
    and h5py): ~15 ms of a ~250 ms lint. Files are closed and fixes fsynced by then;
    only the standard streams need flushing (as mypy's fast exit does)."""
    if status is not None and not isinstance(status, int):
        print(status, file=sys.stderr)  # sys.exit("message") semantics
        status = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # `bnlint ... | head`: the reader left; that is not an error
        pass
    os._exit(status or 0)
